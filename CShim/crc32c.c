// CRC32C (Castagnoli) for the journal's record checksums.
//
// x86-64 with SSE4.2: the crc32 instruction, 8 bytes a step, three
// independent streams at once joined with PCLMULQDQ (each checked once at run
// time with __builtin_cpu_supports, so the binary still runs on a CPU without
// them). Anywhere else: a byte-wise table, the reference algorithm.
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
#include <immintrin.h>
// Three streams at once. The crc32 instruction has a latency of 3 cycles and
// a throughput of 1 a cycle, so one dependent chain runs at a third of the
// unit's speed. Cut the input into three equal parts of B bytes (B a multiple
// of 8, at most 4 KiB; the rest, under 24 bytes, goes word by word), run
// three independent chains (the second and third from 0), then join them:
// the CRC of X||Y||Z is shift(crc(X), 2B) ^ shift(crc0(Y), B) ^ crc0(Z),
// where shift(c, n) appends n zero bytes to a CRC, i.e. multiplies it by
// x^(8n) modulo the polynomial. With PCLMULQDQ a shift is one carry-less
// multiply by the constant x^(8n-33) and one crc32 of the 64-bit product
// (the crc32 instruction multiplies by x^32 and reduces; the reflected
// product is one bit off, hence 33): ~10 cycles, and the two shifts of a join
// run side by side. So a 1 KiB journal record is one triple of 344-byte
// thirds plus one word, not five 192-byte triples joined in series as the
// earlier fixed-block version did (which also needed 8 KiB of tables).
// Inputs under 96 bytes go word by word: a join costs more than it saves.
#define CRC32C_MAX_THIRD 4096
#define CRC32C_MIN_TRIPLE 96
// shift constants for n = 8, 16, ..., 2 * CRC32C_MAX_THIRD bytes: [n / 8 - 1].
static uint32_t crc32c_shift_constant[2 * CRC32C_MAX_THIRD / 8];
static int crc32c_constants_ready;

static void crc32c_fill_constants(void) {
    // Reflected: bit 31 is x^0. Start at x^(8 * 8 - 33) = x^31, then
    // multiply by x^64 from one entry to the next.
    uint32_t power = 0x80000000u;
    for (int bit = 0; bit < 31; bit++) power = (power >> 1) ^ ((power & 1) ? 0x82F63B78u : 0);
    for (size_t i = 0; i < sizeof crc32c_shift_constant / sizeof crc32c_shift_constant[0]; i++) {
        crc32c_shift_constant[i] = power;
        for (int bit = 0; bit < 64; bit++) power = (power >> 1) ^ ((power & 1) ? 0x82F63B78u : 0);
    }
    // Racing first callers compute the same values: harmless.
    __atomic_store_n(&crc32c_constants_ready, 1, __ATOMIC_RELEASE);
}

__attribute__((target("sse4.2")))
static inline uint64_t crc32c_word(uint64_t crc, const uint8_t *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    return __builtin_ia32_crc32di(crc, word);
}

// crc followed by n zero bytes (n a multiple of 8, 8 ... 2 * CRC32C_MAX_THIRD).
__attribute__((target("sse4.2,pclmul")))
static inline uint64_t crc32c_shift(uint64_t crc, size_t n) {
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)(uint32_t)crc),
                                           _mm_cvtsi32_si128((int)crc32c_shift_constant[n / 8 - 1]), 0);
    return __builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(product));
}

__attribute__((target("sse4.2,pclmul")))
static uint64_t crc32c_triples(uint64_t c0, const uint8_t **p, size_t *length) {
    if (!__atomic_load_n(&crc32c_constants_ready, __ATOMIC_ACQUIRE)) crc32c_fill_constants();
    while (*length >= CRC32C_MIN_TRIPLE) {
        size_t third = *length / 24 * 8;
        if (third > CRC32C_MAX_THIRD) third = CRC32C_MAX_THIRD;
        uint64_t c1 = 0, c2 = 0;
        for (const uint8_t *q = *p, *end = *p + third; q < end; q += 8) {
            c0 = crc32c_word(c0, q);
            c1 = crc32c_word(c1, q + third);
            c2 = crc32c_word(c2, q + 2 * third);
        }
        c0 = crc32c_shift(c0, 2 * third) ^ crc32c_shift(c1, third) ^ c2;
        *p += 3 * third;
        *length -= 3 * third;
    }
    return c0;
}

__attribute__((target("sse4.2")))
static inline uint32_t crc32c_sse42(uint32_t crc, const void *bytes, size_t length, int clmul) {
    const uint8_t *p = bytes;
    uint64_t c0 = (uint32_t)~crc;
    if (clmul && length >= CRC32C_MIN_TRIPLE) c0 = crc32c_triples(c0, &p, &length);
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

// 0: the table; 1: the crc32 instruction; 2: and PCLMULQDQ for the joins.
static int crc32c_level = -1;

// Out of line: the first call's CPU check would otherwise make every caller
// save registers (a short record's checksum is mostly that overhead).
__attribute__((noinline, cold))
static int crc32c_detect_level(void) {
    __builtin_cpu_init();
    int level = !__builtin_cpu_supports("sse4.2") ? 0 : __builtin_cpu_supports("pclmul") ? 2 : 1;
    __atomic_store_n(&crc32c_level, level, __ATOMIC_RELAXED);
    return level;
}

static inline int crc32c_level_now(void) {
    // Relaxed: every caller computes the same value from the CPU's flags.
    int level = __atomic_load_n(&crc32c_level, __ATOMIC_RELAXED);
    return __builtin_expect(level < 0, 0) ? crc32c_detect_level() : level;
}

int cshim_crc32c_is_hardware(void) { return crc32c_level_now() > 0; }

uint32_t cshim_crc32c(uint32_t crc, const void *bytes, size_t length) {
    int level = crc32c_level_now();
    return level > 0 ? crc32c_sse42(crc, bytes, length, level > 1) : cshim_crc32c_software(crc, bytes, length);
}
// Both parts in one function with one level check: a journal record's
// checksum (4 + 16 + a short payload) is mostly call overhead otherwise.
__attribute__((target("sse4.2")))
static uint32_t crc32c_pair_sse42(const void *a, size_t a_length, const void *b, size_t b_length, int clmul) {
    return crc32c_sse42(crc32c_sse42(0, a, a_length, 0), b, b_length, clmul);
}

// The first call (the CPU check) and CPUs without SSE4.2.
__attribute__((noinline))
static uint32_t crc32c_pair_other(const void *a, size_t a_length, const void *b, size_t b_length) {
    if (crc32c_level_now() > 0) return cshim_crc32c(cshim_crc32c(0, a, a_length), b, b_length);
    return cshim_crc32c_software(cshim_crc32c_software(0, a, a_length), b, b_length);
}

uint32_t cshim_crc32c_pair(const void *a, size_t a_length, const void *b, size_t b_length) {
    // Relaxed: as in crc32c_level_now; -1 until the first check.
    int level = __atomic_load_n(&crc32c_level, __ATOMIC_RELAXED);
    if (__builtin_expect(level > 0, 1)) return crc32c_pair_sse42(a, a_length, b, b_length, level > 1);
    return crc32c_pair_other(a, a_length, b, b_length);
}
#else
int cshim_crc32c_is_hardware(void) { return 0; }
uint32_t cshim_crc32c_pair(const void *a, size_t a_length, const void *b, size_t b_length) {
    return cshim_crc32c_software(cshim_crc32c_software(0, a, a_length), b, b_length);
}
uint32_t cshim_crc32c(uint32_t crc, const void *bytes, size_t length) { return cshim_crc32c_software(crc, bytes, length); }
#endif


int cshim_posix_fallocate(int fd, uint64_t length) { return posix_fallocate(fd, 0, (off_t)length); }
