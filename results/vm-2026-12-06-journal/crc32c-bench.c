#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
uint32_t cshim_crc32c(uint32_t, const void*, size_t);
uint32_t cshim_crc32c_software(uint32_t, const void*, size_t);
int main(void) {
    size_t n = 3 * 8192 * 3 + 1000;
    unsigned char *b = malloc(n + 16);
    for (size_t i = 0; i < n + 16; i++) b[i] = (unsigned char)(rand());
    int bad = 0;
    if (cshim_crc32c(0, "123456789", 9) != 0xE3069283u) { printf("check value wrong\n"); bad++; }
    for (size_t len = 0; len <= n; len += (len < 2000 ? 1 : 997)) for (int off = 0; off < 8; off += 3) {
        uint32_t seed = (uint32_t)(len * 2654435761u);
        if (cshim_crc32c(seed, b + off, len) != cshim_crc32c_software(seed, b + off, len)) { printf("mismatch len %zu off %d\n", len, off); bad++; if (bad > 5) return 1; }
    }
    struct timespec t0, t1; volatile uint32_t sink = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < 200000; r++) sink ^= cshim_crc32c(0, b + (r & 7), 1024);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("1 KiB: %.1f ns (%.2f GB/s)\n", ns / 200000, 1024.0 * 200000 / ns);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < 2000; r++) sink ^= cshim_crc32c(0, b, 65536);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("64 KiB: %.2f GB/s\n", 65536.0 * 2000 / ns);
    printf("%s\n", bad ? "FAIL" : "ok");
    return bad != 0;
}
