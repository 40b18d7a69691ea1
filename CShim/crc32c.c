// CRC32C (Castagnoli) for the journal's record checksums.
//
// x86-64 with SSE4.2: the crc32 instruction, 8 bytes a step (checked once at
// run time with __builtin_cpu_supports, so the binary still runs on a CPU
// without it). Anywhere else: a byte-wise table, the reference algorithm.
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
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *p = bytes;
    uint64_t c = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
        length--;
    }
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
