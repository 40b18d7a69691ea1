/* The C counterpart of `ringbench floor`: a C producer and a C consumer,
 * in two processes, moving 8-byte sequence numbers through an SPSC ring
 * with libshmring.so (try calls, spinning; batch 1 or K), the consumer
 * checking each value. Prints messages per second.
 *   spsc_floor <messages> <batch> [capacity] [copy|inplace|peek]
 * copy (default): shmring_spsc_try_push[_batch] / try_pop[_batch], through
 * the caller's arrays. inplace: shmring_spsc_try_reserve + commit and
 * try_peek + release, the messages written and read in the ring's slots
 * (as the Swift floor's closures do). peek: copy in, peek out. */
#define _GNU_SOURCE
#include <sched.h>
#include <shmring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Pinned like `ringbench floor`: producer on CPU 0, consumer on CPU 1 (when
 * the machine has them), so the two loops never share a CPU. */
static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity (running unpinned)");
}

/* A side whose peer died would spin on a full (or empty) ring for ever: every
 * 2^20 fruitless tries in a row (milliseconds, off the measured path) it looks
 * whether the peer still exists and gives up with a line if not. */
#define PEER_CHECK_TRIES (1u << 20)

static void producer_check_consumer(pid_t child) {
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
        fprintf(stderr, "spsc_floor: the consumer exited (status %d) before reading every message\n", status);
        exit(1);
    }
}

static void consumer_check_producer(pid_t parent) {
    if (getppid() != parent) _exit(6); /* the producer (our parent) is gone */
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: spsc_floor <messages> <batch> [capacity] [copy|inplace]\n"); return 2; }
    uint64_t count = strtoull(argv[1], 0, 10);
    size_t batch = (size_t)atol(argv[2]);
    size_t capacity = argc > 3 ? (size_t)atol(argv[3]) : 4096;
    const char *api = argc > 4 ? argv[4] : "copy";
    int reserve = strcmp(api, "inplace") == 0, peek = reserve || strcmp(api, "peek") == 0;
    if (!peek && strcmp(api, "copy") != 0) { fprintf(stderr, "api must be copy, inplace or peek\n"); return 2; }
    if (batch < 1 || batch > 1024) { fprintf(stderr, "batch must be 1...1024\n"); return 2; }
    shmring_spsc *ring;
    if (shmring_spsc_create(SHMRING_BACKING_ANON, NULL, capacity, 8, NULL, &ring) != SHMRING_OK) {
        fprintf(stderr, "create: %s\n", shmring_last_error_message());
        return 1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t child = fork(); /* single-threaded here */
    if (child == 0) {
        unsigned idle = 0;
        pin(1);
        shmring_spsc_consumer *c;
        if (shmring_spsc_claim_consumer(ring, SHMRING_WAIT_SPIN, &c) != SHMRING_OK) _exit(3);
        uint64_t expected = 0, values[1024];
        while (peek && expected < count) {
            const void *first;
            size_t stride, n;
            int s = shmring_spsc_try_peek(c, batch, &first, &stride, &n);
            if (s == SHMRING_AGAIN) { if (++idle == PEER_CHECK_TRIES) { idle = 0; consumer_check_producer(parent); } continue; }
            idle = 0;
            if (s != SHMRING_OK) _exit(4);
            for (size_t i = 0; i < n; i++) {
                uint64_t value;
                memcpy(&value, (const char *)first + i * stride, 8);
                if (value != expected++) _exit(5);
            }
            if (shmring_spsc_release(c, n) != SHMRING_OK) _exit(4);
        }
        while (expected < count) {
            size_t n = 1;
            int s = batch == 1 ? shmring_spsc_try_pop(c, values, 8) : shmring_spsc_try_pop_batch(c, values, batch, &n);
            if (s == SHMRING_AGAIN) { if (++idle == PEER_CHECK_TRIES) { idle = 0; consumer_check_producer(parent); } continue; }
            idle = 0;
            if (s != SHMRING_OK) _exit(4);
            for (size_t i = 0; i < n; i++) if (values[i] != expected++) _exit(5);
        }
        shmring_spsc_consumer_free(c);
        _exit(0);
    }
    pin(0);
    shmring_spsc_producer *p;
    if (shmring_spsc_claim_producer(ring, SHMRING_WAIT_SPIN, &p) != SHMRING_OK) return 1;
    uint64_t next = 0, values[1024];
    size_t filled = 0; /* values[0..<filled] hold next, next + 1, ...: filled once, not at every retry */
    unsigned idle = 0;
    double start = now();
    while (reserve && next < count) {
        void *first;
        size_t stride, n, want = count - next < batch ? (size_t)(count - next) : batch;
        int s = shmring_spsc_try_reserve(p, want, &first, &stride, &n);
        if (s == SHMRING_AGAIN) { if (++idle == PEER_CHECK_TRIES) { idle = 0; producer_check_consumer(child); } continue; }
        idle = 0;
        if (s != SHMRING_OK) { fprintf(stderr, "reserve: %s\n", shmring_last_error_message()); return 1; }
        for (size_t i = 0; i < n; i++) {
            uint64_t value = next + i;
            memcpy((char *)first + i * stride, &value, 8);
        }
        if (shmring_spsc_commit(p, n) != SHMRING_OK) { fprintf(stderr, "commit: %s\n", shmring_last_error_message()); return 1; }
        next += n;
    }
    while (next < count) {
        size_t n = 1, want = count - next < batch ? (size_t)(count - next) : batch;
        if (filled < want) {
            for (size_t i = 0; i < want; i++) values[i] = next + i;
            filled = want;
        }
        int s = batch == 1 ? shmring_spsc_try_push(p, values, 8) : shmring_spsc_try_push_batch(p, values, want, &n);
        if (s == SHMRING_AGAIN) { if (++idle == PEER_CHECK_TRIES) { idle = 0; producer_check_consumer(child); } continue; }
        idle = 0;
        if (s != SHMRING_OK) { fprintf(stderr, "push: %s\n", shmring_last_error_message()); return 1; }
        next += n;
        filled = 0;
    }
    int status;
    waitpid(child, &status, 0);
    double seconds = now() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "consumer failed (%d)\n", status); return 1; }
    printf("{\"messages\": %llu, \"batch\": %zu, \"api\": \"%s\", \"seconds\": %.4f, \"messagesPerSecond\": %.0f}\n",
           (unsigned long long)count, batch, api, seconds, (double)count / seconds);
    shmring_spsc_producer_free(p);
    shmring_spsc_free(ring);
    return 0;
}
