/* A producer in plain C: writes COUNT records "record <i>" into a record
 * ring it creates, then ends the stream.
 *   producer <name> [count] [sysv|mmap]        (consumer.c reads it) */
#include <shmring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "producer: %s: %s\n", what, shmring_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: producer <name> [count] [sysv|mmap]\n"); return 2; }
    long count = argc > 2 ? atol(argv[2]) : 1000;
    shmring_backing backing = argc > 3 && strcmp(argv[3], "sysv") == 0 ? SHMRING_BACKING_SYSV : SHMRING_BACKING_MMAP;
    shmring_record *ring;
    shmring_record_producer *producer;
    if (shmring_record_create(backing, argv[1], 1 << 16, 1024, NULL, &ring) != SHMRING_OK) return fail("create");
    if (shmring_record_claim_producer(ring, SHMRING_WAIT_PARK, &producer) != SHMRING_OK) return fail("claim");
    for (long i = 0; i < count; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "record %ld", i);
        if (shmring_record_write(producer, line, (size_t)n, 10.0) != SHMRING_OK) return fail("write");
    }
    shmring_record_producer_close(producer); /* end of stream: the consumer removes the name */
    shmring_record_producer_free(producer);
    shmring_record_free(ring);
    return 0;
}
