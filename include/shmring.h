/*
 * shmring.h: the C ABI of ShmRing (libshmring.so / libshmring.a).
 *
 * Every function here is a thin, exported entry point into the Swift
 * implementation (Sources/ShmRingC): one implementation of the algorithms,
 * reachable from C, C++, Python (python/) and anything with a C FFI. The
 * Swift runtime is linked into the library statically: a process that loads
 * it needs no Swift toolchain.
 *
 * Conventions
 *  - Every symbol starts with shmring_ (types) or SHMRING_ (constants).
 *  - Handles are opaque pointers. A handle is valid from the call that
 *    returns it until its *_free call; after *_free the pointer is as dead
 *    as after free(). Calls on a handle whose end was closed
 *    (shmring_*_close, *_abort) return SHMRING_E_CLOSED_HANDLE; a NULL
 *    handle returns SHMRING_E_INVALID_ARGUMENT. No call aborts the process
 *    on bad input.
 *  - Functions return an int status: SHMRING_OK (0), one of the non-error
 *    outcomes SHMRING_AGAIN (a try call found nothing to do now) or
 *    SHMRING_END (the producer ended the stream and everything was read),
 *    or a negative SHMRING_E_* code, one per ShmError case. After an error
 *    the calling thread's shmring_last_error_*() functions describe it (one
 *    line of text, errno and the failing call for system calls, a pid for
 *    peer-death and ownership errors) until its next failing call.
 *  - Timeouts are in seconds (double). A negative value or INFINITY waits
 *    forever; 0 tries once more after the first attempt. NaN is invalid.
 *  - A handle may move between threads but must not be used by two
 *    threads at once (ring handles and queues: any number of threads).
 *  - A handle inherited by a forked child fails with
 *    SHMRING_E_FORKED_HANDLE; open the ring and claim an end in the child.
 *
 * Versions
 *  - shmring_abi_version() is SHMRING_ABI_VERSION of the library; compare
 *    it with the macro you compiled against (the major part must match).
 *  - Every region header carries a layout version (docs/layout.md); open
 *    refuses another one with SHMRING_E_INCOMPATIBLE_VERSION.
 */
#ifndef SHMRING_H
#define SHMRING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: major << 16 | minor. Minor additions keep old callers working. */
#define SHMRING_ABI_VERSION ((1u << 16) | 4u) /* minor 4: broadcast and journal reserve/commit, peek/release, read_with
                                                  (3: broadcast and journal read_many; 2: spsc reserve/commit, peek/release) */
#define SHMRING_ABI_MAJOR(v) ((v) >> 16)

/* ---- Status codes ------------------------------------------------------ */

enum {
    SHMRING_OK = 0,
    SHMRING_AGAIN = 1,                    /* try call: full (push) or empty (pop) now */
    SHMRING_END = 2,                      /* end of stream: everything was read */
    SHMRING_OVERRUN = 3,                  /* journal tailer, broadcast consumer: records lost first (ABI 1.1) */

    SHMRING_E_SYSTEM_CALL = -1,           /* a system call failed: see errno and call */
    SHMRING_E_NO_SUCH_REGION = -2,        /* nothing by this name */
    SHMRING_E_PERMISSION_DENIED = -3,
    SHMRING_E_NOT_A_RING = -4,            /* no ShmRing magic number */
    SHMRING_E_INCOMPATIBLE_VERSION = -5,  /* the region's layout version is not this library's */
    SHMRING_E_SIZE_MISMATCH = -6,         /* mapping size differs from the header's */
    SHMRING_E_CORRUPTED_HEADER = -7,
    SHMRING_E_WRONG_STRUCTURE = -8,       /* e.g. an SPSC ring opened as a record ring */
    SHMRING_E_NOT_READY = -9,             /* the creator did not publish the region in time */
    SHMRING_E_SEMAPHORES_NOT_READY = -10,
    SHMRING_E_CORRUPT_RING = -11,         /* an index or length in shared memory is impossible */
    SHMRING_E_INVALID_ARGUMENT = -12,     /* NULL, bad size, bad enum value, ... */
    SHMRING_E_TIMED_OUT = -13,
    SHMRING_E_ALREADY_EXISTS = -14,
    SHMRING_E_UNTRUSTED_OWNER = -15,
    SHMRING_E_UNSAFE_PERMISSIONS = -16,
    SHMRING_E_OUT_OF_SPACE = -17,
    SHMRING_E_SEMAPHORES_REMOVED = -18,
    SHMRING_E_ENDPOINT_TAKEN = -19,       /* another live process holds this end (pid) */
    SHMRING_E_PEER_DIED = -20,            /* the other end died without closing (pid) */
    SHMRING_E_FORKED_HANDLE = -21,
    SHMRING_E_PRODUCER_FAILED = -22,      /* record ring: the producer aborted the stream */
    SHMRING_E_STREAM_CONSUMED = -23,      /* record ring: another consumer read it to its end */
    SHMRING_E_CLOSED_HANDLE = -24,        /* the handle's end was closed (C ABI only) */
    SHMRING_E_EVICTED = -25               /* broadcast ring (.evict): the consumer was dropped; join again */
};

/* Symbolic name of a status ("SHMRING_E_TIMED_OUT"); never NULL. */
const char *shmring_status_name(int status);

/* The calling thread's last error (valid until its next failing call). */
int shmring_last_error_code(void);
/* One line, e.g. "shmget(...) failed: ... (errno 28)"; "" if none. */
const char *shmring_last_error_message(void);
/* errno of a SHMRING_E_SYSTEM_CALL, else 0. */
int shmring_last_error_errno(void);
/* The failing call of a SHMRING_E_SYSTEM_CALL ("" otherwise). */
const char *shmring_last_error_call(void);
/* The pid of SHMRING_E_PEER_DIED, SHMRING_E_ENDPOINT_TAKEN,
 * SHMRING_E_STREAM_CONSUMED, else 0. */
int32_t shmring_last_error_pid(void);

#ifndef SHMRING_TYPES_ONLY
uint32_t shmring_abi_version(void);
/* The region layout version this library reads and writes (docs/layout.md). */
uint32_t shmring_layout_version(void);
#endif

/* ---- Options ----------------------------------------------------------- */

typedef enum shmring_backing {
    SHMRING_BACKING_SYSV = 0, /* System V shm, keyed through a key file */
    SHMRING_BACKING_MMAP = 1, /* a MAP_SHARED file, by default under /dev/shm */
    SHMRING_BACKING_ANON = 2  /* anonymous: only for processes related by fork */
} shmring_backing;

typedef enum shmring_wait {
    SHMRING_WAIT_SPIN = 0,  /* spin with pause: lowest latency, burns a CPU */
    SHMRING_WAIT_YIELD = 1, /* sched_yield between checks */
    SHMRING_WAIT_PARK = 2,  /* futex sleep until woken: idle costs no CPU */
    SHMRING_WAIT_BACKOFF = 3 /* spin 25 us, sched_yield 25 us more, then park: spin's
                                latency for a prompt peer, park's idle cost */
} shmring_wait;

typedef enum shmring_mpmc_kind {
    SHMRING_MPMC_SEMAPHORE = 0, /* guarded by a SysV semaphore set, robust to holder death */
    SHMRING_MPMC_LOCK_FREE = 1  /* Vyukov-style sequence words, no lock */
} shmring_mpmc_kind;

/* How a region is created or opened. Initialise with shmring_options_init,
 * then change fields; pass NULL for all defaults. struct_size lets later
 * versions append fields. */
typedef struct shmring_options {
    uint32_t struct_size;             /* sizeof(shmring_options) */
    uint32_t permissions;             /* mode of new objects; default 0600 */
    const char *directory;            /* NULL: "/dev/shm" */
    double open_timeout_seconds;      /* wait for the creator to publish; default 5 */
    double wait_for_creation_seconds; /* wait for the name to appear; default 0 */
    int32_t prefault;                 /* touch every page at create/open; default 1 */
    int32_t reclaim_stale;            /* create: reclaim a name whose users all died; default 0 */
} shmring_options;

/* Fills *options with the defaults (the Swift RegionOptions defaults). */
static inline void shmring_options_init(shmring_options *options) {
    options->struct_size = (uint32_t)sizeof(shmring_options);
    options->permissions = 0600;
    options->directory = 0;
    options->open_timeout_seconds = 5;
    options->wait_for_creation_seconds = 0;
    options->prefault = 1;
    options->reclaim_stale = 0;
}

/* Zero-copy callbacks: the bytes are valid only during the call. */
typedef void (*shmring_read_fn)(void *context, const void *data, size_t length);
/* Fills one message in place: write at most `length` bytes into `data`. */
typedef void (*shmring_write_fn)(void *context, void *data, size_t length);
/* Batch forms get the message's index in the batch. */
typedef void (*shmring_read_batch_fn)(void *context, size_t index, const void *data, size_t length);

/* Opaque handles. */
typedef struct shmring_spsc shmring_spsc;
typedef struct shmring_spsc_producer shmring_spsc_producer;
typedef struct shmring_spsc_consumer shmring_spsc_consumer;
typedef struct shmring_record shmring_record;
typedef struct shmring_record_producer shmring_record_producer;
typedef struct shmring_record_consumer shmring_record_consumer;
typedef struct shmring_mpmc shmring_mpmc;
typedef struct shmring_journal_producer shmring_journal_producer;
typedef struct shmring_journal_tailer shmring_journal_tailer;

/* When a journal's committed records are on stable storage. */
typedef enum shmring_durability {
    SHMRING_DURABILITY_PROCESS_CRASH = 0, /* page cache: a killed producer loses nothing committed */
    SHMRING_DURABILITY_INTERVAL = 1,      /* fdatasync at a commit once interval_milliseconds passed */
    SHMRING_DURABILITY_EVERY_COMMIT = 2   /* fdatasync at every commit */
} shmring_durability;

/* A journal producer's options. Initialise with shmring_journal_options_init. */
typedef struct shmring_journal_options {
    uint32_t struct_size;              /* sizeof(shmring_journal_options) */
    shmring_durability durability;     /* default SHMRING_DURABILITY_PROCESS_CRASH */
    uint64_t segment_size;             /* bytes per segment file, used when creating; default 64 MiB */
    int32_t interval_milliseconds;     /* with SHMRING_DURABILITY_INTERVAL */
    uint64_t retention_max_bytes;      /* keep at most this many bytes of segments; 0: no limit */
    double retention_max_age_seconds;  /* delete segments older than this; 0: no limit */
} shmring_journal_options;

static inline void shmring_journal_options_init(shmring_journal_options *options) {
    options->struct_size = (uint32_t)sizeof(shmring_journal_options);
    options->durability = SHMRING_DURABILITY_PROCESS_CRASH;
    options->segment_size = (uint64_t)64 << 20;
    options->interval_milliseconds = 0;
    options->retention_max_bytes = 0;
    options->retention_max_age_seconds = 0;
}

/* Where a journal tailer starts: value is the sequence or the time (ns since the epoch). */
typedef enum shmring_journal_start {
    SHMRING_JOURNAL_OLDEST = 0,
    SHMRING_JOURNAL_LATEST = 1,
    SHMRING_JOURNAL_SEQUENCE = 2,
    SHMRING_JOURNAL_TIME = 3
} shmring_journal_start;

/* What shmring_journal_read read: a record (SHMRING_OK: sequence, timestamp
 * in ns since the epoch, length) or an overrun (SHMRING_OVERRUN: lost). */
typedef struct shmring_journal_record {
    uint64_t sequence;
    uint64_t timestamp;
    size_t length;
    uint64_t lost;
} shmring_journal_record;

typedef struct shmring_broadcast shmring_broadcast;
typedef struct shmring_broadcast_producer shmring_broadcast_producer;
typedef struct shmring_broadcast_consumer shmring_broadcast_consumer;

/* What a broadcast ring's producer does when a consumer is a ring behind. */
typedef enum shmring_broadcast_policy {
    SHMRING_BROADCAST_BLOCK = 0,     /* wait for the slowest live consumer */
    SHMRING_BROADCAST_OVERWRITE = 1, /* never wait: a lapped consumer gets SHMRING_OVERRUN with the count lost */
    SHMRING_BROADCAST_EVICT = 2      /* block, but drop a consumer that gated the producer evict_after_seconds */
} shmring_broadcast_policy;

typedef struct shmring_exchange shmring_exchange;
typedef struct shmring_exchange_client shmring_exchange_client;
typedef struct shmring_exchange_server shmring_exchange_server;

/* An exchange server's handler: reads the request (valid during the call),
 * writes at most `capacity` bytes of response into `response`, returns the
 * response's length (more than `capacity` is SHMRING_E_INVALID_ARGUMENT). */
typedef size_t (*shmring_serve_fn)(void *context, const void *request, size_t length, void *response, size_t capacity);

#ifndef SHMRING_TYPES_ONLY

/* ---- Names -------------------------------------------------------------- */

/* Removes a ring's or queue's name now (what `ringbench rm` does). */
int shmring_remove(shmring_backing backing, const char *name, const shmring_options *options);

/* ---- SPSC ring: fixed-size messages, one producer, one consumer -------- */
/* The ring handle maps the region; the creator's handle removes the name
 * when freed unless the producer closed the stream (then the consumer
 * removes it at the end). Ends keep the mapping alive on their own: the
 * ring handle may be freed right after claiming an end. */

/* capacity: slots, a power of two; message_size: bytes per slot (>= 8).
 * name NULL: anonymous (or IPC_PRIVATE), for fork-related processes. */
int shmring_spsc_create(shmring_backing backing, const char *name, size_t capacity, size_t message_size,
                        const shmring_options *options, shmring_spsc **out);
/* options->wait_for_creation_seconds > 0 waits for a ring not created yet. */
int shmring_spsc_open(shmring_backing backing, const char *name, const shmring_options *options,
                      shmring_spsc **out);
/* Opens, or creates if absent; an existing ring of another shape is an error. */
int shmring_spsc_open_or_create(shmring_backing backing, const char *name, size_t capacity, size_t message_size,
                                const shmring_options *options, shmring_spsc **out);
int shmring_spsc_capacity(const shmring_spsc *ring, size_t *capacity, size_t *message_size);
void shmring_spsc_free(shmring_spsc *ring);

/* Claims an end for this process (SHMRING_E_ENDPOINT_TAKEN if held). */
int shmring_spsc_claim_producer(shmring_spsc *ring, shmring_wait wait, shmring_spsc_producer **out);
int shmring_spsc_claim_consumer(shmring_spsc *ring, shmring_wait wait, shmring_spsc_consumer **out);

/* Copies `length` (<= message_size) bytes into the next slot, zero-padded.
 * try: SHMRING_OK or SHMRING_AGAIN (full). */
int shmring_spsc_try_push(shmring_spsc_producer *producer, const void *data, size_t length);
int shmring_spsc_push(shmring_spsc_producer *producer, const void *data, size_t length, double timeout_seconds);
/* Fills the next slot in place (zero copy). */
int shmring_spsc_try_push_with(shmring_spsc_producer *producer, shmring_write_fn fill, void *context);
/* `count` messages of message_size bytes each, back to back in `data`.
 * try: pushes what fits now (*pushed, maybe 0: SHMRING_AGAIN).
 * blocking: pushes all `count`, waiting for room (*pushed says how many on error). */
int shmring_spsc_try_push_batch(shmring_spsc_producer *producer, const void *data, size_t count, size_t *pushed);
int shmring_spsc_push_batch(shmring_spsc_producer *producer, const void *data, size_t count,
                            double timeout_seconds, size_t *pushed);
/* Zero copy, many messages per call (minor 2): up to `max_count` free slots
 * in place, *count of them (0: SHMRING_AGAIN), message i at
 * (char *)*first + i * *stride, message_size bytes each. They stop at the
 * ring's end, so a batch may come back shorter than max_count while more
 * room exists: call again. Nothing is visible until shmring_spsc_commit
 * publishes the first `count` of them (count <= the last *count; more is
 * SHMRING_E_INVALID_ARGUMENT). Unfilled slots may simply not be committed.
 *     void *first; size_t stride, n;
 *     if (shmring_spsc_try_reserve(p, 32, &first, &stride, &n) == SHMRING_OK) {
 *         for (size_t i = 0; i < n; i++) *(uint64_t *)((char *)first + i * stride) = next++;
 *         shmring_spsc_commit(p, n);
 *     } */
int shmring_spsc_try_reserve(shmring_spsc_producer *producer, size_t max_count, void **first, size_t *stride,
                             size_t *count);
int shmring_spsc_commit(shmring_spsc_producer *producer, size_t count);
/* Ends the stream: the consumer reads what was pushed, then SHMRING_END.
 * The handle is closed (still free it). */
int shmring_spsc_producer_close(shmring_spsc_producer *producer);
/* Releases the end (the stream stays open for a successor) and frees. */
void shmring_spsc_producer_free(shmring_spsc_producer *producer);

/* Copies the next message (message_size bytes) into `buffer` (>= message_size).
 * try: SHMRING_OK / SHMRING_AGAIN; blocking: SHMRING_OK / SHMRING_END / error. */
int shmring_spsc_try_pop(shmring_spsc_consumer *consumer, void *buffer, size_t buffer_size);
int shmring_spsc_pop(shmring_spsc_consumer *consumer, void *buffer, size_t buffer_size, double timeout_seconds);
/* Zero copy: `body` sees the message in the ring; it is handed back after. */
int shmring_spsc_try_pop_with(shmring_spsc_consumer *consumer, shmring_read_fn body, void *context);
int shmring_spsc_pop_with(shmring_spsc_consumer *consumer, shmring_read_fn body, void *context, double timeout_seconds);
/* Up to `max_count` messages into `buffer` (max_count * message_size bytes).
 * try: what is ready now (SHMRING_AGAIN if none). blocking: waits for the
 * first, then takes what is ready; SHMRING_END at the end. */
int shmring_spsc_try_pop_batch(shmring_spsc_consumer *consumer, void *buffer, size_t max_count, size_t *count);
int shmring_spsc_pop_batch(shmring_spsc_consumer *consumer, void *buffer, size_t max_count,
                           double timeout_seconds, size_t *count);
int shmring_spsc_try_pop_batch_with(shmring_spsc_consumer *consumer, size_t max_count,
                                    shmring_read_batch_fn body, void *context, size_t *count);
/* Zero copy, many messages per call (minor 2): up to `max_count` published
 * messages in place (0: SHMRING_AGAIN), message i at
 * (const char *)*first + i * *stride, message_size bytes each, stopping at
 * the ring's end. They stay valid until shmring_spsc_release hands back the
 * first `count` of them (count <= the last *count). Peeking again without a
 * release returns the same messages (and any newer ones). At the end of the
 * stream try_peek says SHMRING_AGAIN; the blocking shmring_spsc_pop* calls
 * report SHMRING_END. */
int shmring_spsc_try_peek(shmring_spsc_consumer *consumer, size_t max_count, const void **first, size_t *stride,
                          size_t *count);
int shmring_spsc_release(shmring_spsc_consumer *consumer, size_t count);
void shmring_spsc_consumer_free(shmring_spsc_consumer *consumer);

/* ---- Record ring: variable-length records, one producer, one consumer -- */

/* capacity: bytes, a power of two >= 64; max_record: largest payload. */
int shmring_record_create(shmring_backing backing, const char *name, size_t capacity, size_t max_record,
                          const shmring_options *options, shmring_record **out);
int shmring_record_open(shmring_backing backing, const char *name, const shmring_options *options,
                        shmring_record **out);
int shmring_record_open_or_create(shmring_backing backing, const char *name, size_t capacity, size_t max_record,
                                  const shmring_options *options, shmring_record **out);
int shmring_record_capacity(const shmring_record *ring, size_t *capacity, size_t *max_record);
void shmring_record_free(shmring_record *ring);

int shmring_record_claim_producer(shmring_record *ring, shmring_wait wait, shmring_record_producer **out);
int shmring_record_claim_consumer(shmring_record *ring, shmring_wait wait, shmring_record_consumer **out);

/* Reserves a record of `length` bytes in the ring and returns where to write
 * it (*payload). Write it before the next call on this producer; it is
 * published at shmring_record_commit (reserve commits earlier records by
 * itself when it has to wait). try: SHMRING_AGAIN when there is no room. */
int shmring_record_try_reserve(shmring_record_producer *producer, size_t length, void **payload);
int shmring_record_reserve(shmring_record_producer *producer, size_t length, double timeout_seconds, void **payload);
/* Publishes every record reserved since the last commit. */
int shmring_record_commit(shmring_record_producer *producer);
/* Copies one record in and commits it. */
int shmring_record_try_write(shmring_record_producer *producer, const void *data, size_t length);
int shmring_record_write(shmring_record_producer *producer, const void *data, size_t length, double timeout_seconds);
/* `count` records: record i is lengths[i] bytes, back to back in `data`;
 * one commit for all. try: what fits now (*written). blocking: all. */
int shmring_record_try_write_many(shmring_record_producer *producer, const void *data, const size_t *lengths,
                                  size_t count, size_t *written);
int shmring_record_write_many(shmring_record_producer *producer, const void *data, const size_t *lengths,
                              size_t count, double timeout_seconds, size_t *written);
/* Ends the stream after the records written (committing them). Closes the handle. */
int shmring_record_producer_close(shmring_record_producer *producer);
/* Ends the stream as failed: the consumer gets what was published, then
 * SHMRING_E_PRODUCER_FAILED. reason: 0 = other, else a signal number
 * (interrupted). Closes the handle. */
int shmring_record_producer_abort(shmring_record_producer *producer, int32_t signal_number);
void shmring_record_producer_free(shmring_record_producer *producer);

/* Shows the next record in place (*data, *length): valid until
 * shmring_record_release, which hands back every record peeked so far.
 * Several records may be peeked before one release.
 * try: SHMRING_OK / SHMRING_AGAIN; blocking: SHMRING_OK / SHMRING_END. */
int shmring_record_try_peek(shmring_record_consumer *consumer, const void **data, size_t *length);
int shmring_record_peek(shmring_record_consumer *consumer, double timeout_seconds, const void **data, size_t *length);
int shmring_record_release(shmring_record_consumer *consumer);
/* Copies the next record into `buffer` and releases it (*length: its size).
 * A record larger than buffer_size: SHMRING_E_INVALID_ARGUMENT, record kept. */
int shmring_record_try_read(shmring_record_consumer *consumer, void *buffer, size_t buffer_size, size_t *length);
int shmring_record_read(shmring_record_consumer *consumer, void *buffer, size_t buffer_size,
                        double timeout_seconds, size_t *length);
/* Zero copy through a callback, then release. */
int shmring_record_read_with(shmring_record_consumer *consumer, shmring_read_fn body, void *context,
                             double timeout_seconds);
/* Up to `max_count` records copied back to back into `buffer` (lengths[i]
 * each), as many as fit; waits (timeout) for the first only. One release.
 * SHMRING_OK (*count >= 1), SHMRING_END, or an error. */
int shmring_record_read_many(shmring_record_consumer *consumer, void *buffer, size_t buffer_size,
                             size_t *lengths, size_t max_count, double timeout_seconds, size_t *count);
/* Gives the stream up (unreleased records stay for a successor). Closes the handle. */
int shmring_record_consumer_abort(shmring_record_consumer *consumer);
void shmring_record_consumer_free(shmring_record_consumer *consumer);

/* ---- MPMC queues: fixed-size messages, any number of producers and consumers */
/* No ends to claim: every holder of a queue handle may push and pop. */

int shmring_mpmc_create(shmring_mpmc_kind kind, shmring_backing backing, const char *name, size_t capacity,
                        size_t message_size, const shmring_options *options, shmring_mpmc **out);
int shmring_mpmc_open(shmring_mpmc_kind kind, shmring_backing backing, const char *name,
                      const shmring_options *options, shmring_mpmc **out);
int shmring_mpmc_capacity(const shmring_mpmc *queue, size_t *capacity, size_t *message_size);
int shmring_mpmc_try_push(shmring_mpmc *queue, const void *data, size_t length);
int shmring_mpmc_push(shmring_mpmc *queue, const void *data, size_t length, double timeout_seconds);
int shmring_mpmc_try_pop(shmring_mpmc *queue, void *buffer, size_t buffer_size);
int shmring_mpmc_pop(shmring_mpmc *queue, void *buffer, size_t buffer_size, double timeout_seconds);
/* Batches: `count` (or up to max_count) messages of message_size bytes back to back. */
int shmring_mpmc_try_push_batch(shmring_mpmc *queue, const void *data, size_t count, size_t *pushed);
int shmring_mpmc_push_batch(shmring_mpmc *queue, const void *data, size_t count, double timeout_seconds);
int shmring_mpmc_try_pop_batch(shmring_mpmc *queue, void *buffer, size_t max_count, size_t *count);
int shmring_mpmc_pop_batch(shmring_mpmc *queue, void *buffer, size_t max_count, double timeout_seconds, size_t *count);
/* Removes the queue's name now; handles keep working. */
int shmring_mpmc_remove_name(shmring_mpmc *queue);
void shmring_mpmc_free(shmring_mpmc *queue);

/* ---- Exchange: request/response, one client, one server ------------------ */
/* A request of up to 56 bytes travels in the same cache line as its signal
 * (one line each way); up to max_message bytes in all. shared_line 1: one
 * line written in turn by both sides (lowest latency when both spin); 0: one
 * line per direction. The client's close ends the stream: the server's
 * receive/serve return SHMRING_END once every request was answered (and the
 * name is removed). */

int shmring_exchange_create(shmring_backing backing, const char *name, size_t max_message, int shared_line,
                            const shmring_options *options, shmring_exchange **out);
int shmring_exchange_open(shmring_backing backing, const char *name, const shmring_options *options,
                          shmring_exchange **out);
int shmring_exchange_max_message(const shmring_exchange *exchange, size_t *max_message);
void shmring_exchange_free(shmring_exchange *exchange);
int shmring_exchange_claim_client(shmring_exchange *exchange, shmring_wait wait, shmring_exchange_client **out);
int shmring_exchange_claim_server(shmring_exchange *exchange, shmring_wait wait, shmring_exchange_server **out);

/* Sends `length` bytes and waits for the response, copied into `response`
 * (a response larger than response_size is SHMRING_E_INVALID_ARGUMENT). */
int shmring_exchange_call(shmring_exchange_client *client, const void *request, size_t length,
                          void *response, size_t response_size, double timeout_seconds, size_t *response_length);
int shmring_exchange_client_close(shmring_exchange_client *client);
void shmring_exchange_client_free(shmring_exchange_client *client);

/* Waits for a request and copies it into `request`; SHMRING_END after the
 * client closed. The request stays the one to answer until respond. */
int shmring_exchange_receive(shmring_exchange_server *server, void *request, size_t size, double timeout_seconds,
                             size_t *length);
int shmring_exchange_respond(shmring_exchange_server *server, const void *response, size_t length);
/* Zero copy: waits for a request and answers it with `handler`; SHMRING_END as receive. */
int shmring_exchange_serve(shmring_exchange_server *server, shmring_serve_fn handler, void *context,
                           double timeout_seconds);
void shmring_exchange_server_free(shmring_exchange_server *server);

/* ---- Journal: a persistent log in a directory of segment files ----------- */
/* One producer at a time (SHMRING_E_ENDPOINT_TAKEN while another lives);
 * any number of tailers, which never slow it. docs/journal.md. */

int shmring_journal_open_producer(const char *directory, const shmring_journal_options *options,
                                  shmring_journal_producer **out);
/* Copies one record in (not yet visible); shmring_journal_commit publishes
 * every record written since the last commit, as one batch. */
int shmring_journal_write(shmring_journal_producer *producer, const void *data, size_t length);
/* Zero copy (minor 4): reserves a record of `length` bytes in the segment
 * and returns where to write its payload (*payload), as shmring_journal_write
 * would have copied it: part of the next commit's batch. Write it before the
 * next call on this producer: its CRC32C is computed then (at the next
 * reserve, write, commit or close, or when the handle is freed), so bytes
 * written later are what a tailer verifying checksums refuses as corrupt. A
 * reservation cannot be taken back: the record is published by the next
 * commit whatever it holds. length larger than a segment holds:
 * SHMRING_E_INVALID_ARGUMENT. */
int shmring_journal_reserve(shmring_journal_producer *producer, size_t length, void **payload);
int shmring_journal_commit(shmring_journal_producer *producer);
int shmring_journal_next_sequence(const shmring_journal_producer *producer, uint64_t *next);
/* Commits and ends the stream: tailers that read everything get SHMRING_END. */
int shmring_journal_producer_close(shmring_journal_producer *producer);
void shmring_journal_producer_free(shmring_journal_producer *producer);

int shmring_journal_open_tailer(const char *directory, shmring_journal_start start, uint64_t value, shmring_wait wait,
                                int verify_checksums, shmring_journal_tailer **out);
/* Waits for the next record and copies its payload into `buffer`: SHMRING_OK,
 * SHMRING_OVERRUN (record->lost records deleted by retention; the next read
 * continues at the oldest kept), SHMRING_END (closed, all read),
 * SHMRING_E_TIMED_OUT, SHMRING_E_NO_SUCH_REGION (the journal was removed).
 * A record larger than `size` is SHMRING_E_INVALID_ARGUMENT and stays unread. */
int shmring_journal_read(shmring_journal_tailer *tailer, void *buffer, size_t size, double timeout_seconds,
                         shmring_journal_record *record);
/* Up to `max_count` records copied back to back into `buffer`, records[i]
 * describing each (sequence, timestamp, length); waits (timeout) for the
 * first only, then takes what the segment being read has committed, as long
 * as it fits. SHMRING_OK (*count >= 1), SHMRING_OVERRUN (nothing read:
 * records[0].lost were deleted by retention first), SHMRING_END, or an error
 * as shmring_journal_read. A first record larger than `size` is
 * SHMRING_E_INVALID_ARGUMENT and stays unread. */
int shmring_journal_read_many(shmring_journal_tailer *tailer, void *buffer, size_t size, shmring_journal_record *records,
                              size_t max_count, double timeout_seconds, size_t *count);
/* Zero copy (minor 4): waits for the next record and lends its payload in
 * the segment's mapping (*data, record->length bytes; record->sequence and
 * ->timestamp as shmring_journal_read). Statuses as shmring_journal_read;
 * only SHMRING_OK lends. The bytes stay valid and unchanged until
 * shmring_journal_release (or shmring_journal_tailer_free): a committed
 * record is never written again, and the tailer keeps its segment mapped, so
 * retention deleting the segment's file meanwhile does not disturb the read
 * (nothing truncates a segment; the deleted file's space is freed once no
 * tailer maps it). One record at a time: until
 * the release, shmring_journal_peek, _read, _read_many and _read_with return
 * SHMRING_E_INVALID_ARGUMENT. The record counts as read at the peek: a
 * release moves nothing. */
int shmring_journal_peek(shmring_journal_tailer *tailer, double timeout_seconds, const void **data,
                         shmring_journal_record *record);
/* Ends the read of the record lent by shmring_journal_peek (nothing lent: SHMRING_OK, no effect). */
int shmring_journal_release(shmring_journal_tailer *tailer);
/* Zero copy through a callback (minor 4): waits for the next record and
 * shows its payload to `body` (valid during the call only); statuses and
 * *record as shmring_journal_read (body runs only for SHMRING_OK). */
int shmring_journal_read_with(shmring_journal_tailer *tailer, shmring_read_fn body, void *context, double timeout_seconds,
                              shmring_journal_record *record);
void shmring_journal_tailer_free(shmring_journal_tailer *tailer);

/* ---- Broadcast ring: one producer, many consumers, each gets everything --- */
/* capacity: bytes, a power of two (>= 256); max_consumers: slots (1..4096).
 * docs/broadcast.md. */

int shmring_broadcast_create(shmring_backing backing, const char *name, size_t capacity, size_t max_record,
                             size_t max_consumers, shmring_broadcast_policy policy, double evict_after_seconds,
                             const shmring_options *options, shmring_broadcast **out);
int shmring_broadcast_open(shmring_backing backing, const char *name, const shmring_options *options,
                           shmring_broadcast **out);
int shmring_broadcast_capacity(const shmring_broadcast *ring, size_t *capacity, size_t *max_record);
void shmring_broadcast_free(shmring_broadcast *ring);
int shmring_broadcast_claim_producer(shmring_broadcast *ring, shmring_wait wait, shmring_broadcast_producer **out);
/* Joins in a free slot at the oldest intact record (from_oldest 1) or at the next one published (0). */
int shmring_broadcast_join(shmring_broadcast *ring, int from_oldest, shmring_wait wait, shmring_broadcast_consumer **out);

/* Copies one record in and publishes it (waits as the policy says). */
int shmring_broadcast_write(shmring_broadcast_producer *producer, const void *data, size_t length, double timeout_seconds);
/* Zero copy (minor 4), as the record ring's: reserves a record of `length`
 * bytes and returns where to write it (*payload). Write it before the next
 * call on this producer; it is published at shmring_broadcast_commit
 * (reserve commits earlier records by itself when it has to wait, or when
 * the room it reuses reaches them). Several reserves before one commit make
 * one batch; a commit with nothing reserved does nothing (SHMRING_OK). Room
 * is taken as shmring_broadcast_write takes it: SHMRING_BROADCAST_BLOCK and
 * _EVICT wait for (or evict) the slowest live consumer, _OVERWRITE never
 * waits. try: SHMRING_AGAIN when a live consumer holds the room now.
 * blocking: SHMRING_E_TIMED_OUT after the timeout. A reservation cannot be
 * taken back: it is published at the next commit (or close, or free). */
int shmring_broadcast_try_reserve(shmring_broadcast_producer *producer, size_t length, void **payload);
int shmring_broadcast_reserve(shmring_broadcast_producer *producer, size_t length, double timeout_seconds, void **payload);
/* Publishes every record reserved since the last commit. */
int shmring_broadcast_commit(shmring_broadcast_producer *producer);
/* Ends the stream: each consumer reads what was published, then SHMRING_END. */
int shmring_broadcast_producer_close(shmring_broadcast_producer *producer);
void shmring_broadcast_producer_free(shmring_broadcast_producer *producer);

/* Waits for the next record and copies it: SHMRING_OK (*length), SHMRING_OVERRUN
 * (*lost records were overwritten first; reading continues at the oldest
 * intact one), SHMRING_END, SHMRING_E_EVICTED (join again). A record larger
 * than `size` is SHMRING_E_INVALID_ARGUMENT and stays unread. */
int shmring_broadcast_read(shmring_broadcast_consumer *consumer, void *buffer, size_t size, double timeout_seconds,
                           size_t *length, uint64_t *lost);
/* Up to `max_count` records copied back to back into `buffer` (lengths[i]
 * each), as many as are published and fit; waits (timeout) for the first
 * only; one release. SHMRING_OK (*count >= 1; *lost: records overwritten
 * right after the last one copied, 0 if none: the next call continues after
 * the gap), SHMRING_OVERRUN (nothing copied: *lost overwritten first),
 * SHMRING_END, SHMRING_E_EVICTED. A first record larger than `size` is
 * SHMRING_E_INVALID_ARGUMENT and stays unread. */
int shmring_broadcast_read_many(shmring_broadcast_consumer *consumer, void *buffer, size_t size, size_t *lengths,
                                size_t max_count, double timeout_seconds, size_t *count, uint64_t *lost);
/* Zero copy (minor 4): lends the next record in place (*data, *length) until
 * shmring_broadcast_release, which VALIDATES the read. Under
 * SHMRING_BROADCAST_OVERWRITE the producer never waits for a consumer: it
 * may write over the lent bytes while the caller reads them, so nothing read
 * may be used (acted on, or copied anywhere that outlives a failed release)
 * before shmring_broadcast_release returned SHMRING_OK (reading them never
 * faults: *data and *length stay inside the ring). try: SHMRING_OK,
 * SHMRING_AGAIN (nothing published now), SHMRING_OVERRUN (*lost records
 * were overwritten before this peek; nothing is lent; the next peek continues
 * at the oldest intact record), SHMRING_E_EVICTED. blocking: SHMRING_END
 * instead of SHMRING_AGAIN, errors as shmring_broadcast_read. One record at a
 * time: until the release, shmring_broadcast_try_peek, _peek, _read,
 * _read_many and _read_with return SHMRING_E_INVALID_ARGUMENT. */
int shmring_broadcast_try_peek(shmring_broadcast_consumer *consumer, const void **data, size_t *length, uint64_t *lost);
int shmring_broadcast_peek(shmring_broadcast_consumer *consumer, double timeout_seconds, const void **data, size_t *length,
                           uint64_t *lost);
/* Ends the read of the lent record and releases it, checking it as the
 * Swift API checks every read (a seqlock: was the record's position still
 * intact after the read?). SHMRING_OK: the bytes were intact from the peek to
 * this call; what was read is the record. SHMRING_OVERRUN (only under
 * SHMRING_BROADCAST_OVERWRITE): the producer overwrote the record meanwhile:
 * DISCARD everything read from it (it may be torn, a mix of two records);
 * *lost counts that record and every one overwritten after it; the next
 * peek continues at the oldest intact record. SHMRING_E_EVICTED
 * (SHMRING_BROADCAST_EVICT): the producer dropped this consumer meanwhile;
 * discard the read too, and join again. Under SHMRING_BROADCAST_BLOCK the
 * producer waits for the release: always SHMRING_OK. Nothing lent:
 * SHMRING_OK, no effect. lost may be NULL. */
int shmring_broadcast_release(shmring_broadcast_consumer *consumer, uint64_t *lost);
/* Zero copy through a callback (minor 4): waits for the next record, shows
 * it to `body` (valid during the call only) and releases it, with the same
 * check after `body` returned: SHMRING_OK (what body saw was the record),
 * SHMRING_OVERRUN (*lost records were overwritten; if body ran during this
 * call, what it saw was one of them, torn: discard whatever it derived from
 * it), SHMRING_END, SHMRING_E_EVICTED (discard too), or an error. */
int shmring_broadcast_read_with(shmring_broadcast_consumer *consumer, shmring_read_fn body, void *context,
                                double timeout_seconds, uint64_t *lost);
void shmring_broadcast_consumer_free(shmring_broadcast_consumer *consumer);

/* Later structures follow the same pattern:
 * shmring_<structure>_{create,open,...} and their own handle types. */

#endif /* SHMRING_TYPES_ONLY */

#ifdef __cplusplus
}
#endif

#endif /* SHMRING_H */
