/* A consumer in plain C: reads a record ring to its end, in place (peek,
 * then release), and prints how many records and bytes it saw.
 *   consumer <name> [sysv|mmap]     (waits up to 10 s for the ring to appear) */
#include <shmring.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "consumer: %s: %s\n", what, shmring_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: consumer <name> [sysv|mmap]\n"); return 2; }
    shmring_backing backing = argc > 2 && strcmp(argv[2], "sysv") == 0 ? SHMRING_BACKING_SYSV : SHMRING_BACKING_MMAP;
    shmring_options options;
    shmring_options_init(&options);
    options.wait_for_creation_seconds = 10;
    shmring_record *ring;
    shmring_record_consumer *consumer;
    if (shmring_record_open(backing, argv[1], &options, &ring) != SHMRING_OK) return fail("open");
    if (shmring_record_claim_consumer(ring, SHMRING_WAIT_PARK, &consumer) != SHMRING_OK) return fail("claim");
    long records = 0, bytes = 0;
    for (;;) {
        const void *data;
        size_t length;
        int status = shmring_record_peek(consumer, 10.0, &data, &length);
        if (status == SHMRING_END) break;
        if (status != SHMRING_OK) return fail("read");
        records++;
        bytes += (long)length; /* data is valid until the release below */
        shmring_record_release(consumer);
    }
    printf("%ld records, %ld bytes\n", records, bytes);
    shmring_record_consumer_free(consumer);
    shmring_record_free(ring);
    return 0;
}
