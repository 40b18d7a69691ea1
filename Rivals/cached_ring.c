// A cached-index SPSC ring in the style of rigtorp's SPSCQueue
// (github.com/rigtorp/SPSCQueue), in C11 atomics over a shared mapping: the
// rival that publishes ~1.7x Boost's spsc_queue on its author's machine.
//
// Layout (each group on 128 bytes of its own, the adjacent-line prefetch
// pair): the producer's write index and its cached copy of the read index;
// the consumer's read index and its cached copy of the write index; the
// shape; then capacity + 1 slots (one stays empty to tell full from empty).
// A side reloads the other's index (acquire) only when its cached copy says
// full or empty, so in steady state each message touches one shared line:
// its slot. It trusts its peer: indices are not bounded against a hostile
// writer (benchmark use only, never in ShmRing).
#include "Rivals.h"
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

struct cached_ring {
    alignas(128) _Atomic size_t write;
    size_t read_cache;
    alignas(128) _Atomic size_t read;
    size_t write_cache;
    alignas(128) size_t slots; // capacity + 1
    size_t message_size;
    alignas(128) unsigned char data[];
};

size_t rival_cached_footprint(size_t capacity, size_t message_size) {
    return sizeof(struct cached_ring) + (capacity + 1) * message_size;
}

void rival_cached_init(void *at, size_t capacity, size_t message_size) {
    struct cached_ring *r = at;
    atomic_init(&r->write, 0);
    atomic_init(&r->read, 0);
    r->read_cache = r->write_cache = 0;
    r->slots = capacity + 1;
    r->message_size = message_size;
}

static inline bool push(struct cached_ring *r, const void *message, size_t size) {
    size_t write = atomic_load_explicit(&r->write, memory_order_relaxed); // only we store it
    size_t next = write + 1 == r->slots ? 0 : write + 1;
    if (next == r->read_cache) {
        // Acquire: the consumer is done with the slot before we refill it.
        r->read_cache = atomic_load_explicit(&r->read, memory_order_acquire);
        if (next == r->read_cache) return false;
    }
    memcpy(r->data + write * size, message, size);
    // Release: the record is written before the index says so.
    atomic_store_explicit(&r->write, next, memory_order_release);
    return true;
}

static inline bool pop(struct cached_ring *r, void *message, size_t size) {
    size_t read = atomic_load_explicit(&r->read, memory_order_relaxed); // only we store it
    if (read == r->write_cache) {
        // Acquire: pairs with the producer's release; the record is there.
        r->write_cache = atomic_load_explicit(&r->write, memory_order_acquire);
        if (read == r->write_cache) return false;
    }
    memcpy(message, r->data + read * size, size);
    // Release: our copy is done before the producer may reuse the slot.
    atomic_store_explicit(&r->read, read + 1 == r->slots ? 0 : read + 1, memory_order_release);
    return true;
}

bool rival_cached_push(void *ring, const void *message) {
    struct cached_ring *r = ring;
    return push(r, message, r->message_size);
}

bool rival_cached_pop(void *ring, void *message) {
    struct cached_ring *r = ring;
    return pop(r, message, r->message_size);
}

void rival_cached_floor_produce(void *ring, uint64_t count) {
    for (uint64_t sequence = 0; sequence < count;) {
        if (push(ring, &sequence, 8)) sequence++;
    }
}

uint64_t rival_cached_floor_consume(void *ring, uint64_t count) {
    uint64_t wrong = 0;
    for (uint64_t expected = 0; expected < count;) {
        uint64_t value;
        if (pop(ring, &value, 8)) {
            wrong += value != expected;
            expected++;
        }
    }
    return wrong;
}
