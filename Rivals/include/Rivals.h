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
