#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    const char *dir = argv[1]; size_t chunk = (size_t)atol(argv[2]) << 10; // KiB; 0 = fault
    size_t size = 64 << 20; char rec[1024]; memset(rec, 7, sizeof rec);
    double total = 0; int segs = 8;
    for (int s = 0; s < segs; s++) {
        char path[256]; snprintf(path, sizeof path, "%s/seg%d", dir, s);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600); posix_fallocate(fd, 0, size);
        double t0 = now();
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        size_t populated = 0;
        for (size_t off = 0; off + 1024 <= size; off += 1024) {
            if (chunk && off >= populated) { madvise(p + populated, chunk, MADV_POPULATE_WRITE); populated += chunk; }
            memcpy(p + off, rec, 1024);
        }
        total += now() - t0;
        munmap(p, size); close(fd); unlink(path);
    }
    printf("chunk %zu KiB: %.0f MB/s\n", chunk >> 10, segs * size / total / 1e6);
}
