/*
 * The ring's rivals, for the harness only (never linked into ShmRing):
 * Boost.Lockfree spsc_queue and Boost.Interprocess message_queue behind a C
 * interface (rivals.cpp), and Concurrency Kit's ck_ring, whose functions
 * are static inline in <ck_ring.h> and so are inlined into the Swift loop
 * like the ring's own code. Everything comes from Debian packages
 * (libboost-dev, libck-dev); nothing is copied into the repository.
 *
 * Messages are fixed-size records of 8, 64 or 1024 bytes: both lock-free
 * rivals carry a compile-time element type (that is how their users embed
 * them in shared memory: no pointers inside), so other sizes are refused.
 */
#ifndef RINGBENCH_RIVALS_H
#define RINGBENCH_RIVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Boost.Lockfree spsc_queue<record, capacity<4096>> placed in shared memory.
 * Its storage is inline (no pointers), so one forked mapping serves both
 * processes. Sizes: 8, 64, 1024; 0 when unsupported. */
#define RIVAL_BOOST_SPSC_CAPACITY 4096
size_t rival_boost_spsc_footprint(size_t message_size);
/* Constructs the queue at `at` (aligned to 128); false for an unsupported size. */
bool rival_boost_spsc_init(void *at, size_t message_size);
/* Copies one record in; false when full. */
bool rival_boost_spsc_push(void *queue, size_t message_size, const void *message);
/* Copies one record out; false when empty. */
bool rival_boost_spsc_pop(void *queue, size_t message_size, void *message);

/* The rivals' own tight loops, for `ringbench floor --transport <rival>`:
 * 8-byte records carrying the sequence number 0..<count, pushed and popped
 * the way each library's own examples do it (retry at once, no pause, the
 * value checked by one compare). The consumer returns how many values were
 * not the next sequence number. */
void rival_boost_spsc_floor_produce(void *queue, uint64_t count);
uint64_t rival_boost_spsc_floor_consume(void *queue, uint64_t count);

/* A cached-index SPSC ring in the style of rigtorp's SPSCQueue (cached_ring.c):
 * the write and read indices on lines of their own, each side keeping a
 * cached copy of the other's index and reloading it only when the ring looks
 * full (producer) or empty (consumer); slots of message_size bytes, no
 * per-slot word. capacity records fit (capacity + 1 slots). For the
 * benchmark only: it trusts its peer completely. */
size_t rival_cached_footprint(size_t capacity, size_t message_size);
void rival_cached_init(void *at, size_t capacity, size_t message_size);
bool rival_cached_push(void *ring, const void *message);
bool rival_cached_pop(void *ring, void *message);
void rival_cached_floor_produce(void *ring, uint64_t count);
uint64_t rival_cached_floor_consume(void *ring, uint64_t count);

/* Boost.Interprocess message_queue (a mutex and two condition variables in a
 * /dev/shm segment named `name`, mode 0600). Errors never cross as C++
 * exceptions: calls return false / NULL and write a one-line reason into
 * `error` (`error_size` bytes). */
bool rival_boost_mq_create(const char *name, size_t capacity, size_t message_size, char *error, size_t error_size);
void *rival_boost_mq_open(const char *name, char *error, size_t error_size);
/* Blocking send and receive of exactly `message_size` bytes. */
bool rival_boost_mq_send(void *queue, const void *message, size_t message_size, char *error, size_t error_size);
bool rival_boost_mq_receive(void *queue, void *message, size_t message_size, char *error, size_t error_size);
/* Non-blocking receive: 1 received, 0 empty, -1 error. */
int rival_boost_mq_try_receive(void *queue, void *message, size_t message_size, char *error, size_t error_size);
void rival_boost_mq_close(void *queue);
/* Removes the name (true if it existed). */
bool rival_boost_mq_remove(const char *name);

#ifdef __cplusplus
}
#endif

#ifndef __cplusplus
#include <ck_ring.h>

/* ck_ring with typed records: the ring header (ck_ring_t) and the record
 * array are separate, so both live in the shared mapping and each process
 * passes its own buffer address at every call. */
struct rival_record8 { uint64_t words[1]; };
struct rival_record64 { uint64_t words[8]; };
struct rival_record1024 { uint64_t words[128]; };
CK_RING_PROTOTYPE(rival8, rival_record8)
CK_RING_PROTOTYPE(rival64, rival_record64)
CK_RING_PROTOTYPE(rival1024, rival_record1024)

static inline bool rival_ck_supports(size_t message_size) {
    return message_size == 8 || message_size == 64 || message_size == 1024;
}

static inline void rival_ck_init(ck_ring_t *ring, unsigned int capacity) { ck_ring_init(ring, capacity); }

/* One record in (false when full); `mpmc` picks the multi-producer form. */
static inline bool rival_ck_push(ck_ring_t *ring, void *buffer, size_t message_size, bool mpmc, void *message) {
    switch (message_size) {
    case 8: return mpmc ? ck_ring_enqueue_mpmc_rival8(ring, buffer, message) : ck_ring_enqueue_spsc_rival8(ring, buffer, message);
    case 64: return mpmc ? ck_ring_enqueue_mpmc_rival64(ring, buffer, message) : ck_ring_enqueue_spsc_rival64(ring, buffer, message);
    case 1024: return mpmc ? ck_ring_enqueue_mpmc_rival1024(ring, buffer, message) : ck_ring_enqueue_spsc_rival1024(ring, buffer, message);
    default: return false;
    }
}

/* ck_ring's own loops (ck_floor.c), 8-byte records, as above. */
void rival_ck_spsc_floor_produce(ck_ring_t *ring, void *buffer, uint64_t count);
uint64_t rival_ck_spsc_floor_consume(ck_ring_t *ring, void *buffer, uint64_t count);

/* One record out (false when empty). */
static inline bool rival_ck_pop(ck_ring_t *ring, void *buffer, size_t message_size, bool mpmc, void *message) {
    switch (message_size) {
    case 8: return mpmc ? ck_ring_dequeue_mpmc_rival8(ring, buffer, message) : ck_ring_dequeue_spsc_rival8(ring, buffer, message);
    case 64: return mpmc ? ck_ring_dequeue_mpmc_rival64(ring, buffer, message) : ck_ring_dequeue_spsc_rival64(ring, buffer, message);
    case 1024: return mpmc ? ck_ring_dequeue_mpmc_rival1024(ring, buffer, message) : ck_ring_dequeue_spsc_rival1024(ring, buffer, message);
    default: return false;
    }
}
#endif

#endif
