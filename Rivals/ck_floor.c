// Concurrency Kit's ck_ring in its own tight loop (Rivals.h): the spsc
// enqueue and dequeue of 8-byte records, inlined here as its users inline them.
#include "Rivals.h"

void rival_ck_spsc_floor_produce(ck_ring_t *ring, void *buffer, uint64_t count) {
    for (uint64_t sequence = 0; sequence < count;) {
        struct rival_record8 record = { { sequence } };
        if (ck_ring_enqueue_spsc_rival8(ring, buffer, &record)) sequence++;
    }
}

uint64_t rival_ck_spsc_floor_consume(ck_ring_t *ring, void *buffer, uint64_t count) {
    uint64_t wrong = 0;
    for (uint64_t expected = 0; expected < count;) {
        struct rival_record8 record;
        if (ck_ring_dequeue_spsc_rival8(ring, buffer, &record)) {
            wrong += record.words[0] != expected;
            expected++;
        }
    }
    return wrong;
}
