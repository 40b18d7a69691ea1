// CRC32C (Castagnoli) for the journal's record checksums.
//
// x86-64 with SSE4.2: the crc32 instruction, 8 bytes a step, three
// independent streams at once (checked once at run time with
// __builtin_cpu_supports, so the binary still runs on a CPU without it). Anywhere else: a byte-wise table, the reference algorithm.
// Both give the same value (tests compare them with the standard check value
// of "123456789", 0xE3069283).
#define _GNU_SOURCE
#include "CShim.h"
#include <fcntl.h>
#include <string.h>

static uint32_t crc32c_table[256];
static int crc32c_table_ready;

static void crc32c_fill_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[i] = c;
    }
    __atomic_store_n(&crc32c_table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t cshim_crc32c_software(uint32_t crc, const void *bytes, size_t length) {
    // Racing first callers fill the same values: harmless.
    if (!__atomic_load_n(&crc32c_table_ready, __ATOMIC_ACQUIRE)) crc32c_fill_table();
    const uint8_t *p = bytes;
    crc = ~crc;
    for (size_t i = 0; i < length; i++) crc = crc32c_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
// Three streams at once. The crc32 instruction has a latency of 3 cycles and
// a throughput of 1 a cycle, so one dependent chain runs at a third of the
// unit's speed. Cut a block into three equal parts, run three independent
// chains (the second and third from 0), then join them: the CRC of A||B is
// shift(crc(A), |B|) ^ crc0(B), where shift appends |B| zero bytes to a CRC,
// a linear map applied with four 256-entry tables (Mark Adler's method,
// zlib's crc32_combine). Blocks of 3 x 8 KiB, then 3 x 64 B (a 1 KiB journal
// record is 5 short blocks and a 64-byte tail), then words.
#define CRC32C_LONG 8192
#define CRC32C_SHORT 64
static uint32_t crc32c_long_shift[4][256];
static uint32_t crc32c_short_shift[4][256];
static int crc32c_shift_ready;

// Multiplies a 32x32 GF(2) matrix by a vector.
static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    for (; vector; vector >>= 1, matrix++) if (vector & 1) sum ^= *matrix;
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(matrix, matrix[n]);
}

// The tables that append `length` (a power of two, >= 2) zero bytes to a CRC.
static void crc32c_shift_tables(uint32_t tables[4][256], size_t length) {
    uint32_t odd[32], even[32];
    odd[0] = 0x82F63B78u; // one zero bit: the reflected polynomial
    for (int n = 1; n < 32; n++) odd[n] = 1u << (n - 1);
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four zero bits
    // Each square doubles the count: one zero byte first, then 2, 4, ...
    const uint32_t *op = odd;
    do {
        gf2_square(even, odd);
        op = even;
        length >>= 1;
        if (length == 0) break;
        gf2_square(odd, even);
        op = odd;
        length >>= 1;
    } while (length);
    for (uint32_t n = 0; n < 256; n++) {
        tables[0][n] = gf2_times(op, n);
        tables[1][n] = gf2_times(op, n << 8);
        tables[2][n] = gf2_times(op, n << 16);
        tables[3][n] = gf2_times(op, n << 24);
    }
}

static void crc32c_fill_shift_tables(void) {
    // Racing first callers compute the same values: harmless.
    crc32c_shift_tables(crc32c_long_shift, CRC32C_LONG);
    crc32c_shift_tables(crc32c_short_shift, CRC32C_SHORT);
    __atomic_store_n(&crc32c_shift_ready, 1, __ATOMIC_RELEASE);
}

static inline uint32_t crc32c_shift(uint32_t tables[4][256], uint32_t crc) {
    return tables[0][crc & 0xFF] ^ tables[1][(crc >> 8) & 0xFF] ^ tables[2][(crc >> 16) & 0xFF] ^ tables[3][crc >> 24];
}

__attribute__((target("sse4.2")))
static inline uint64_t crc32c_word(uint64_t crc, const uint8_t *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    return __builtin_ia32_crc32di(crc, word);
}

// Three chains over the three thirds of each block of 3 x `block` bytes,
// joined with `shift` (appends `block` zero bytes); returns the running CRC.
__attribute__((target("sse4.2")))
static inline uint64_t crc32c_blocks(uint64_t c0, const uint8_t **p, size_t *length, size_t block,
                                     uint32_t shift[4][256]) {
    while (*length >= 3 * block) {
        uint64_t c1 = 0, c2 = 0;
        for (const uint8_t *q = *p, *end = *p + block; q < end; q += 8) {
            c0 = crc32c_word(c0, q);
            c1 = crc32c_word(c1, q + block);
            c2 = crc32c_word(c2, q + 2 * block);
        }
        c0 = crc32c_shift(shift, (uint32_t)c0) ^ (uint32_t)c1;
        c0 = crc32c_shift(shift, (uint32_t)c0) ^ (uint32_t)c2;
        *p += 3 * block;
        *length -= 3 * block;
    }
    return c0;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *bytes, size_t length) {
    if (!__atomic_load_n(&crc32c_shift_ready, __ATOMIC_ACQUIRE)) crc32c_fill_shift_tables();
    const uint8_t *p = bytes;
    uint64_t c0 = (uint32_t)~crc;
    c0 = crc32c_blocks(c0, &p, &length, CRC32C_LONG, crc32c_long_shift);
    c0 = crc32c_blocks(c0, &p, &length, CRC32C_SHORT, crc32c_short_shift);
    while (length >= 8) {
        c0 = crc32c_word(c0, p);
        p += 8;
        length -= 8;
    }
    // The last 0-7 bytes: at most one 4-, one 2- and one 1-byte step (a
    // journal record's 4-byte length field is one instruction, not four).
    uint32_t c32 = (uint32_t)c0;
    if (length & 4) {
        uint32_t word;
        memcpy(&word, p, 4);
        c32 = __builtin_ia32_crc32si(c32, word);
        p += 4;
    }
    if (length & 2) {
        uint16_t half;
        memcpy(&half, p, 2);
        c32 = __builtin_ia32_crc32hi(c32, half);
        p += 2;
    }
    if (length & 1) c32 = __builtin_ia32_crc32qi(c32, *p);
    return ~c32;
}

static int crc32c_hardware = -1;

int cshim_crc32c_is_hardware(void) {
    int h = __atomic_load_n(&crc32c_hardware, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&crc32c_hardware, h, __ATOMIC_RELAXED);
    }
    return h;
}

uint32_t cshim_crc32c(uint32_t crc, const void *bytes, size_t length) {
    return cshim_crc32c_is_hardware() ? crc32c_sse42(crc, bytes, length) : cshim_crc32c_software(crc, bytes, length);
}
#else
int cshim_crc32c_is_hardware(void) { return 0; }
uint32_t cshim_crc32c(uint32_t crc, const void *bytes, size_t length) { return cshim_crc32c_software(crc, bytes, length); }
#endif

int cshim_posix_fallocate(int fd, uint64_t length) { return posix_fallocate(fd, 0, (off_t)length); }
