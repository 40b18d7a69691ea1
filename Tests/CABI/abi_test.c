/* Tests of the C ABI through libshmring.so (make cabi-test): every ring
 * kind end to end in one process, and the error contract (codes, message,
 * no abort on NULL, bad sizes, closed handles, layout version mismatch). */
#define _GNU_SOURCE
#include <shmring.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed; last error %s: %s\n", \
    __FILE__, __LINE__, #cond, shmring_status_name(shmring_last_error_code()), shmring_last_error_message()); } } while (0)
#define OK(call) CHECK((call) == SHMRING_OK)

static char name[64];
static const char *unique(const char *what) {
    snprintf(name, sizeof name, "cabi-test-%s-%d", what, (int)getpid());
    return name;
}

static void test_versions(void) {
    CHECK(SHMRING_ABI_MAJOR(shmring_abi_version()) == SHMRING_ABI_MAJOR(SHMRING_ABI_VERSION));
    CHECK(shmring_layout_version() >= 3);
    CHECK(strcmp(shmring_status_name(SHMRING_E_PEER_DIED), "SHMRING_E_PEER_DIED") == 0);
}

static void test_bad_input(void) {
    char buffer[16];
    CHECK(shmring_spsc_try_push(NULL, "x", 1) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(strstr(shmring_last_error_message(), "NULL") != NULL);
    CHECK(shmring_spsc_try_pop(NULL, buffer, sizeof buffer) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_record_try_write(NULL, "x", 1) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_spsc_create(SHMRING_BACKING_ANON, NULL, 64, 8, NULL, NULL) == SHMRING_E_INVALID_ARGUMENT);
    shmring_spsc *ring;
    CHECK(shmring_spsc_create(SHMRING_BACKING_ANON, NULL, 3, 8, NULL, &ring) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_spsc_create((shmring_backing)7, NULL, 64, 8, NULL, &ring) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_spsc_open(SHMRING_BACKING_MMAP, NULL, NULL, &ring) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_spsc_open(SHMRING_BACKING_MMAP, unique("absent"), NULL, &ring) == SHMRING_E_NO_SUCH_REGION);
    shmring_options options;
    shmring_options_init(&options);
    options.struct_size = 4;
    CHECK(shmring_spsc_create(SHMRING_BACKING_ANON, NULL, 64, 8, &options, &ring) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_spsc_create(SHMRING_BACKING_ANON, NULL, 64, 8, NULL, &ring));
    /* A ring handle is not a producer handle. */
    CHECK(shmring_spsc_try_push((shmring_spsc_producer *)(void *)ring, "x", 1) == SHMRING_E_INVALID_ARGUMENT);
    shmring_spsc_producer *producer;
    shmring_spsc_consumer *consumer;
    OK(shmring_spsc_claim_producer(ring, SHMRING_WAIT_SPIN, &producer));
    shmring_spsc_producer *second;
    CHECK(shmring_spsc_claim_producer(ring, SHMRING_WAIT_SPIN, &second) == SHMRING_E_ENDPOINT_TAKEN);
    CHECK(shmring_last_error_pid() == getpid());
    CHECK(shmring_spsc_claim_consumer(ring, (shmring_wait)4, &consumer) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_spsc_claim_consumer(ring, SHMRING_WAIT_SPIN, &consumer));
    CHECK(shmring_spsc_try_push(producer, "123456789", 9) == SHMRING_E_INVALID_ARGUMENT); /* > message size */
    CHECK(shmring_spsc_try_push(producer, NULL, 4) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_spsc_try_push(producer, "x", (size_t)-1) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_spsc_try_pop(consumer, buffer, 4) == SHMRING_E_INVALID_ARGUMENT);          /* < message size */
    CHECK(shmring_spsc_pop(consumer, buffer, sizeof buffer, NAN) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_spsc_pop(consumer, buffer, sizeof buffer, 0.05) == SHMRING_E_TIMED_OUT);
    CHECK(shmring_spsc_try_pop(consumer, buffer, sizeof buffer) == SHMRING_AGAIN);
    OK(shmring_spsc_producer_close(producer));
    CHECK(shmring_spsc_try_push(producer, "x", 1) == SHMRING_E_CLOSED_HANDLE);
    CHECK(shmring_spsc_producer_close(producer) == SHMRING_E_CLOSED_HANDLE);
    CHECK(shmring_spsc_pop(consumer, buffer, sizeof buffer, 1) == SHMRING_END);
    shmring_spsc_producer_free(producer);
    shmring_spsc_consumer_free(consumer);
    shmring_spsc_free(ring);
    shmring_spsc_free(NULL);
}

static long sum_seen;
static void add_first_word(void *context, const void *data, size_t length) {
    (void)context;
    long value;
    if (length >= sizeof value) { memcpy(&value, data, sizeof value); sum_seen += value; }
}
static void add_first_word_batch(void *context, size_t index, const void *data, size_t length) {
    (void)index;
    add_first_word(context, data, length);
}

static void test_spsc(shmring_backing backing) {
    shmring_spsc *ring;
    OK(shmring_spsc_create(backing, unique("spsc"), 64, 8, NULL, &ring));
    size_t capacity, size;
    OK(shmring_spsc_capacity(ring, &capacity, &size));
    CHECK(capacity == 64 && size == 8);
    shmring_spsc *opened;
    OK(shmring_spsc_open(backing, name, NULL, &opened));
    shmring_spsc_producer *producer;
    shmring_spsc_consumer *consumer;
    OK(shmring_spsc_claim_producer(ring, SHMRING_WAIT_PARK, &producer));
    OK(shmring_spsc_claim_consumer(opened, SHMRING_WAIT_PARK, &consumer));
    long values[40], out[64];
    for (long i = 0; i < 40; i++) values[i] = i + 1;
    size_t n = 0;
    OK(shmring_spsc_push_batch(producer, values, 40, 1, &n));
    CHECK(n == 40);
    OK(shmring_spsc_pop_batch(consumer, out, 64, 1, &n));
    CHECK(n == 40 && out[0] == 1 && out[39] == 40);
    long v = 41;
    OK(shmring_spsc_push(producer, &v, sizeof v, 1));
    sum_seen = 0;
    OK(shmring_spsc_pop_with(consumer, add_first_word, NULL, 1));
    CHECK(sum_seen == 41);
    OK(shmring_spsc_try_push_batch(producer, values, 10, &n));
    CHECK(n == 10);
    sum_seen = 0;
    OK(shmring_spsc_try_pop_batch_with(consumer, 64, add_first_word_batch, NULL, &n));
    CHECK(n == 10 && sum_seen == 55);
    /* More than the ring holds, through the blocking batch: fills, then waits. */
    CHECK(shmring_spsc_push_batch(producer, values, 40, 0.01, &n) == SHMRING_OK);
    CHECK(shmring_spsc_try_push_batch(producer, values, 40, &n) == SHMRING_OK && n == 24);
    CHECK(shmring_spsc_try_push(producer, &v, sizeof v) == SHMRING_AGAIN);
    CHECK(shmring_spsc_push(producer, &v, sizeof v, 0.02) == SHMRING_E_TIMED_OUT);
    OK(shmring_spsc_try_pop_batch(consumer, out, 64, &n));
    CHECK(n == 64 && out[63] == 24);
    OK(shmring_spsc_producer_close(producer));
    CHECK(shmring_spsc_pop(consumer, out, sizeof out, 1) == SHMRING_END);
    shmring_spsc_producer_free(producer);
    shmring_spsc_consumer_free(consumer);
    shmring_spsc_free(opened);
    shmring_spsc_free(ring);
}

/* Zero-copy batches: reserve / commit and peek / release, across the
 * ring's end, with the bounds the handle enforces. */
static void test_spsc_in_place(void) {
    shmring_spsc *ring;
    OK(shmring_spsc_create(SHMRING_BACKING_ANON, NULL, 16, 8, NULL, &ring));
    shmring_spsc_producer *producer;
    shmring_spsc_consumer *consumer;
    OK(shmring_spsc_claim_producer(ring, SHMRING_WAIT_SPIN, &producer));
    OK(shmring_spsc_claim_consumer(ring, SHMRING_WAIT_SPIN, &consumer));
    void *slots;
    const void *messages;
    size_t stride, n;
    CHECK(shmring_spsc_try_reserve(producer, 4, NULL, &stride, &n) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_spsc_try_peek(consumer, 4, &messages, &stride, &n) == SHMRING_AGAIN && n == 0);
    CHECK(shmring_spsc_commit(producer, 1) == SHMRING_E_INVALID_ARGUMENT); /* nothing reserved */
    CHECK(shmring_spsc_release(consumer, 1) == SHMRING_E_INVALID_ARGUMENT); /* nothing peeked */
    OK(shmring_spsc_commit(producer, 0));
    uint64_t next = 0, expected = 0;
    /* 12, then 12 more: the second reservation stops at the ring's end (4 left). */
    for (int round = 0; round < 2; round++) {
        OK(shmring_spsc_try_reserve(producer, 12, &slots, &stride, &n));
        CHECK(n == (round == 0 ? 12u : 4u) && stride >= 16);
        for (size_t i = 0; i < n; i++) memcpy((char *)slots + i * stride, &next, 8), next++;
        CHECK(shmring_spsc_commit(producer, n + 1) == SHMRING_E_INVALID_ARGUMENT);
        CHECK(shmring_spsc_try_peek(consumer, 64, &messages, &stride, &n) == (round == 0 ? SHMRING_AGAIN : SHMRING_OK));
        OK(shmring_spsc_commit(producer, round == 0 ? 12 : 4));
        OK(shmring_spsc_try_peek(consumer, 64, &messages, &stride, &n));
        CHECK(n == (round == 0 ? 12u : 16u - 8u)); /* the second peek starts at 8 and stops at the end */
        size_t take = round == 0 ? 8 : n; /* hand back a prefix first */
        for (size_t i = 0; i < take; i++) {
            uint64_t value;
            memcpy(&value, (const char *)messages + i * stride, 8);
            CHECK(value == expected++);
        }
        CHECK(shmring_spsc_release(consumer, n + 1) == SHMRING_E_INVALID_ARGUMENT);
        OK(shmring_spsc_release(consumer, take));
    }
    /* Full ring: 16 slots, 16 - 16 read = all free again; reserve wraps to slot 0. */
    OK(shmring_spsc_try_reserve(producer, 64, &slots, &stride, &n));
    CHECK(n == 16);
    /* A push between reserve and commit: the commit still stays inside what was free. */
    OK(shmring_spsc_try_push(producer, &next, 8));
    CHECK(shmring_spsc_commit(producer, 16) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_spsc_commit(producer, 0));
    uint64_t value;
    OK(shmring_spsc_try_pop(consumer, &value, 8));
    CHECK(value == next);
    OK(shmring_spsc_producer_close(producer));
    shmring_spsc_producer_free(producer);
    shmring_spsc_consumer_free(consumer);
    shmring_spsc_free(ring);
}

static void test_record(shmring_backing backing) {
    shmring_record *ring;
    OK(shmring_record_create(backing, unique("record"), 4096, 1000, NULL, &ring));
    shmring_record_producer *producer;
    shmring_record_consumer *consumer;
    OK(shmring_record_claim_producer(ring, SHMRING_WAIT_PARK, &producer));
    OK(shmring_record_claim_consumer(ring, SHMRING_WAIT_BACKOFF, &consumer));
    CHECK(shmring_record_try_write(producer, "x", 1001) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_record_write(producer, "hello", 5, 1));
    void *payload;
    OK(shmring_record_reserve(producer, 3, 1, &payload));
    memcpy(payload, "abc", 3);
    OK(shmring_record_commit(producer));
    const char many[] = "onetwothree";
    size_t lengths[3] = {3, 3, 5}, written;
    OK(shmring_record_write_many(producer, many, lengths, 3, 1, &written));
    CHECK(written == 3);
    OK(shmring_record_write(producer, "", 0, 1));
    char buffer[2048];
    size_t length;
    CHECK(shmring_record_try_read(consumer, buffer, 4, &length) == SHMRING_E_INVALID_ARGUMENT); /* kept */
    OK(shmring_record_read(consumer, buffer, sizeof buffer, 1, &length));
    CHECK(length == 5 && memcmp(buffer, "hello", 5) == 0);
    const void *data;
    OK(shmring_record_try_peek(consumer, &data, &length));
    CHECK(length == 3 && memcmp(data, "abc", 3) == 0);
    OK(shmring_record_release(consumer));
    size_t got[8], count;
    OK(shmring_record_read_many(consumer, buffer, sizeof buffer, got, 8, 1, &count));
    CHECK(count == 4 && got[0] == 3 && got[2] == 5 && got[3] == 0 && memcmp(buffer, "onetwothree", 11) == 0);
    CHECK(shmring_record_try_peek(consumer, &data, &length) == SHMRING_AGAIN);
    /* Wrap around the ring many times, in place. */
    for (int i = 0; i < 200; i++) {
        char line[600];
        memset(line, 'a' + i % 26, sizeof line);
        OK(shmring_record_write(producer, line, 100 + (size_t)i * 2, 1));
        OK(shmring_record_read(consumer, buffer, sizeof buffer, 1, &length));
        CHECK(length == 100 + (size_t)i * 2 && buffer[length - 1] == 'a' + i % 26);
    }
    OK(shmring_record_producer_abort(producer, 15));
    CHECK(shmring_record_read(consumer, buffer, sizeof buffer, 1, &length) == SHMRING_E_PRODUCER_FAILED);
    CHECK(strstr(shmring_last_error_message(), "signal 15") != NULL);
    shmring_record_producer_free(producer);
    shmring_record_consumer_free(consumer);
    shmring_record_free(ring);
}

/* A region whose layout version is not this library's is refused by name. */
static void test_layout_version_mismatch(void) {
    shmring_record *ring;
    OK(shmring_record_create(SHMRING_BACKING_MMAP, unique("version"), 4096, 100, NULL, &ring));
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    int fd = open(path, O_RDWR | O_NOFOLLOW);
    CHECK(fd >= 0);
    uint32_t version = 0, wrong = 99;
    CHECK(pread(fd, &version, 4, 8) == 4 && version == shmring_layout_version());
    CHECK(pwrite(fd, &wrong, 4, 8) == 4);
    shmring_record *opened;
    CHECK(shmring_record_open(SHMRING_BACKING_MMAP, name, NULL, &opened) == SHMRING_E_INCOMPATIBLE_VERSION);
    CHECK(strstr(shmring_last_error_message(), "layout version 99") != NULL);
    CHECK(pwrite(fd, &version, 4, 8) == 4);
    OK(shmring_record_open(SHMRING_BACKING_MMAP, name, NULL, &opened));
    shmring_record_free(opened);
    close(fd);
    shmring_spsc *wrong_kind;
    CHECK(shmring_spsc_open(SHMRING_BACKING_MMAP, name, NULL, &wrong_kind) == SHMRING_E_WRONG_STRUCTURE);
    shmring_record_free(ring);
}

static void test_mpmc(shmring_mpmc_kind kind) {
    shmring_mpmc *queue;
    OK(shmring_mpmc_create(kind, SHMRING_BACKING_MMAP, unique(kind == SHMRING_MPMC_SEMAPHORE ? "sem" : "lf"), 16, 8, NULL, &queue));
    shmring_mpmc *opened;
    OK(shmring_mpmc_open(kind, SHMRING_BACKING_MMAP, name, NULL, &opened));
    long values[16] = {0}, out[16];
    for (int i = 0; i < 16; i++) values[i] = i * 3;
    OK(shmring_mpmc_push_batch(queue, values, 16, 1));
    CHECK(shmring_mpmc_try_push(queue, values, 8) == SHMRING_AGAIN);
    size_t n;
    OK(shmring_mpmc_pop_batch(opened, out, 10, 1, &n));
    CHECK(n == 10 && out[9] == 27);
    OK(shmring_mpmc_try_pop_batch(opened, out, 16, &n));
    CHECK(n == 6 && out[5] == 45);
    CHECK(shmring_mpmc_pop(opened, out, sizeof out, 0.02) == SHMRING_E_TIMED_OUT);
    OK(shmring_mpmc_push(opened, values + 2, 8, 1));
    OK(shmring_mpmc_try_pop(queue, out, 8));
    CHECK(out[0] == 6);
    shmring_mpmc_free(opened);
    OK(shmring_mpmc_remove_name(queue));
    shmring_mpmc_free(queue);
}

/* The server's answer: the request reversed. */
static size_t reverse(void *context, const void *request, size_t length, void *response, size_t capacity) {
    (void)context;
    if (length > capacity) return capacity + 1; /* cannot happen: max_message bounds both */
    for (size_t i = 0; i < length; i++) ((char *)response)[i] = ((const char *)request)[length - 1 - i];
    return length;
}

/* A forked server answers 200 calls of every length up to 200 bytes (past
 * the 56 inline bytes), alternately with serve (zero copy) and with
 * receive + respond, until the client closes (SHMRING_END). */
static void test_exchange(shmring_backing backing, int shared_line) {
    shmring_exchange *exchange;
    OK(shmring_exchange_create(backing, backing == SHMRING_BACKING_ANON ? NULL : unique("exchange"), 200, shared_line, NULL, &exchange));
    size_t max = 0;
    OK(shmring_exchange_max_message(exchange, &max));
    CHECK(max == 200);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        shmring_exchange_server *server;
        if (shmring_exchange_claim_server(exchange, SHMRING_WAIT_PARK, &server) != SHMRING_OK) _exit(2);
        char request[200];
        size_t length;
        for (int i = 0;; i++) {
            int status;
            if (i % 2 == 0) {
                status = shmring_exchange_serve(server, reverse, NULL, 10);
            } else {
                status = shmring_exchange_receive(server, request, sizeof request, 10, &length);
                if (status == SHMRING_OK) {
                    char response[200];
                    reverse(NULL, request, length, response, sizeof response);
                    status = shmring_exchange_respond(server, response, length);
                }
            }
            if (status == SHMRING_END) _exit(0);
            if (status != SHMRING_OK) _exit(3);
        }
    }
    shmring_exchange_client *client;
    OK(shmring_exchange_claim_client(exchange, SHMRING_WAIT_PARK, &client));
    char request[200], response[200], small[4];
    size_t length;
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)(i % 201);
        for (size_t j = 0; j < n; j++) request[j] = (char)(i + j);
        length = 999;
        OK(shmring_exchange_call(client, request, n, response, sizeof response, 10, &length));
        CHECK(length == n);
        for (size_t j = 0; j < n && j < length; j++) CHECK(response[j] == request[n - 1 - j]);
    }
    CHECK(shmring_exchange_call(client, request, 10, small, sizeof small, 10, &length) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_exchange_call(client, request, 201, response, sizeof response, 10, &length) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_exchange_client_close(client));
    CHECK(shmring_exchange_call(client, request, 1, response, sizeof response, 1, &length) == SHMRING_E_CLOSED_HANDLE);
    shmring_exchange_client_free(client);
    int status = -1;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    shmring_exchange_free(exchange);
}

/* A journal in a scratch directory: records written and committed in a
 * batch, replayed by a tailer from the oldest and from a sequence, a record
 * too large for the buffer left unread, end of stream after close, a second
 * producer refused, bad options refused. */
/* A scratch directory (`directory`, a mkdtemp template) with the path of a
 * journal in it, and options for 64 KiB segments. */
static void scratch_journal(char *directory, char *path, size_t size, shmring_journal_options *options) {
    CHECK(mkdtemp(directory) != NULL);
    snprintf(path, size, "%s/j", directory);
    shmring_journal_options_init(options);
    options->segment_size = 65536;
}

static void remove_scratch(const char *directory) {
    char command[200];
    snprintf(command, sizeof command, "rm -rf '%s'", directory);
    CHECK(system(command) == 0);
}

static void test_journal(void) {
    char directory[] = "/tmp/cabi-journal-XXXXXX", path[128];
    shmring_journal_options options;
    scratch_journal(directory, path, sizeof path, &options);
    shmring_journal_producer *producer;
    OK(shmring_journal_open_producer(path, &options, &producer));
    shmring_journal_producer *second;
    CHECK(shmring_journal_open_producer(path, &options, &second) == SHMRING_E_ENDPOINT_TAKEN);
    shmring_journal_options bad = options;
    bad.segment_size = 1000;
    CHECK(shmring_journal_open_producer(path, &bad, &second) == SHMRING_E_INVALID_ARGUMENT);
    char record[300];
    for (int i = 0; i < 500; i++) {
        int n = i % 300;
        memset(record, 'a' + i % 26, (size_t)n);
        OK(shmring_journal_write(producer, record, (size_t)n));
        if (i % 10 == 9) OK(shmring_journal_commit(producer));
    }
    uint64_t next = 0;
    OK(shmring_journal_next_sequence(producer, &next));
    CHECK(next == 500);
    shmring_journal_tailer *tailer;
    OK(shmring_journal_open_tailer(path, SHMRING_JOURNAL_OLDEST, 0, SHMRING_WAIT_PARK, 1, &tailer));
    shmring_journal_record r;
    char small[10];
    OK(shmring_journal_read(tailer, record, sizeof record, 1, &r));
    CHECK(r.sequence == 0 && r.length == 0);
    CHECK(shmring_journal_read(tailer, small, sizeof small, 1, &r) == SHMRING_OK && r.sequence == 1 && r.length == 1);
    CHECK(shmring_journal_read(tailer, small, 1, 1, &r) == SHMRING_E_INVALID_ARGUMENT); /* record 2 has 2 bytes: stays unread */
    for (int i = 2; i < 500; i++) {
        int status = shmring_journal_read(tailer, record, sizeof record, 1, &r);
        CHECK(status == SHMRING_OK && r.sequence == (uint64_t)i && r.length == (size_t)(i % 300) && r.timestamp > 0);
        if (r.length > 0) CHECK(record[0] == 'a' + i % 26 && record[r.length - 1] == 'a' + i % 26);
    }
    CHECK(shmring_journal_read(tailer, record, sizeof record, 0.02, &r) == SHMRING_E_TIMED_OUT);
    OK(shmring_journal_producer_close(producer));
    shmring_journal_producer_free(producer);
    CHECK(shmring_journal_read(tailer, record, sizeof record, 1, &r) == SHMRING_END);
    shmring_journal_tailer_free(tailer);
    OK(shmring_journal_open_tailer(path, SHMRING_JOURNAL_SEQUENCE, 450, SHMRING_WAIT_SPIN, 1, &tailer));
    OK(shmring_journal_read(tailer, record, sizeof record, 1, &r));
    CHECK(r.sequence == 450);
    /* The rest many a call: back to back, each described, as many as fit. */
    shmring_journal_record rs[16];
    char batch[2000];
    size_t got;
    CHECK(shmring_journal_read_many(tailer, batch, 1, rs, 16, 1, &got) == SHMRING_E_INVALID_ARGUMENT); /* 451 has 151 bytes */
    CHECK(shmring_journal_read_many(tailer, batch, sizeof batch, rs, 0, 1, &got) == SHMRING_E_INVALID_ARGUMENT);
    uint64_t expected = 451;
    int status;
    while ((status = shmring_journal_read_many(tailer, batch, sizeof batch, rs, 16, 1, &got)) == SHMRING_OK) {
        size_t at = 0;
        CHECK(got >= 1 && got <= 16);
        for (size_t k = 0; k < got; k++, expected++) {
            CHECK(rs[k].sequence == expected && rs[k].length == expected % 300 && rs[k].timestamp > 0);
            if (rs[k].length > 0) CHECK(batch[at] == 'a' + (int)(expected % 26) && batch[at + rs[k].length - 1] == 'a' + (int)(expected % 26));
            at += rs[k].length;
        }
        CHECK(at <= sizeof batch);
    }
    CHECK(status == SHMRING_END && expected == 500);
    shmring_journal_tailer_free(tailer);
    CHECK(shmring_journal_open_tailer(path, (shmring_journal_start)9, 0, SHMRING_WAIT_PARK, 1, &tailer) == SHMRING_E_INVALID_ARGUMENT);
    remove_scratch(directory);
}

/* A broadcast ring in one process: two consumers each read every record;
 * under overwrite a lapped consumer gets SHMRING_OVERRUN with the exact
 * count, then the records that survived; a too-small buffer leaves the record
 * unread; close ends the stream for both. */
static void test_broadcast(void) {
    shmring_broadcast *ring;
    OK(shmring_broadcast_create(SHMRING_BACKING_ANON, NULL, 4096, 100, 4, SHMRING_BROADCAST_OVERWRITE, 0, NULL, &ring));
    size_t capacity = 0, max_record = 0;
    OK(shmring_broadcast_capacity(ring, &capacity, &max_record));
    CHECK(capacity == 4096 && max_record == 100);
    shmring_broadcast_producer *producer;
    OK(shmring_broadcast_claim_producer(ring, SHMRING_WAIT_SPIN, &producer));
    shmring_broadcast_consumer *a, *b;
    OK(shmring_broadcast_join(ring, 1, SHMRING_WAIT_SPIN, &a));
    OK(shmring_broadcast_join(ring, 1, SHMRING_WAIT_SPIN, &b));
    char record[100], small[2];
    size_t length;
    uint64_t lost = 0;
    for (int i = 0; i < 10; i++) {
        memset(record, 'A' + i, 50);
        OK(shmring_broadcast_write(producer, record, 50, 1));
    }
    CHECK(shmring_broadcast_read(a, small, sizeof small, 1, &length, &lost) == SHMRING_E_INVALID_ARGUMENT);
    for (int i = 0; i < 10; i++) {
        CHECK(shmring_broadcast_read(a, record, sizeof record, 1, &length, &lost) == SHMRING_OK && length == 50 && record[0] == 'A' + i);
    }
    /* b: many a call (4, 4, then the 2 left), back to back. */
    char many[500];
    size_t lengths[4], got;
    for (int i = 0; i < 10; i += (int)got) {
        OK(shmring_broadcast_read_many(b, many, sizeof many, lengths, 4, 1, &got, &lost));
        CHECK(got == (i < 8 ? 4u : 2u) && lost == 0);
        for (size_t k = 0; k < got; k++) CHECK(lengths[k] == 50 && many[k * 50] == 'A' + i + (int)k && many[k * 50 + 49] == 'A' + i + (int)k);
    }
    CHECK(shmring_broadcast_read_many(b, many, sizeof many, lengths, 0, 1, &got, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_read_many(b, many, sizeof many, lengths, 4, 0.02, &got, &lost) == SHMRING_E_TIMED_OUT);
    /* b reads on; a is lapped: 1000 records of 100 bytes in a 4 KiB ring. */
    for (int i = 0; i < 1000; i++) {
        memcpy(record, &i, sizeof i);
        OK(shmring_broadcast_write(producer, record, 100, 1));
        CHECK(shmring_broadcast_read(b, record, sizeof record, 1, &length, &lost) == SHMRING_OK && length == 100);
    }
    size_t big[4];
    CHECK(shmring_broadcast_read_many(a, many, sizeof many, big, 4, 1, &got, &lost) == SHMRING_OVERRUN && lost > 900 && lost < 1000);
    int first = -1, count = 0, status;
    while ((status = shmring_broadcast_read(a, record, sizeof record, 0.02, &length, &lost)) == SHMRING_OK) {
        int value;
        memcpy(&value, record, sizeof value);
        if (first < 0) first = value;
        count++;
    }
    CHECK(status == SHMRING_E_TIMED_OUT);
    CHECK(first == (int)(1000 - count) && (uint64_t)first == lost); /* the survivors are the last ones, none skipped */
    OK(shmring_broadcast_producer_close(producer));
    shmring_broadcast_producer_free(producer);
    CHECK(shmring_broadcast_read(a, record, sizeof record, 1, &length, &lost) == SHMRING_END);
    CHECK(shmring_broadcast_read(b, record, sizeof record, 1, &length, &lost) == SHMRING_END);
    shmring_broadcast_consumer_free(a);
    shmring_broadcast_consumer_free(b);
    CHECK(shmring_broadcast_create(SHMRING_BACKING_ANON, NULL, 4096, 100, 4, (shmring_broadcast_policy)7, 0, NULL, &ring) == SHMRING_E_INVALID_ARGUMENT);
    shmring_broadcast_free(ring);
}


/* Broadcast zero copy, both directions (ABI 1.4): reserve/commit round trip;
 * bad calls refused with codes; a lent record blocks every other read until
 * its release; under overwrite a consumer that peeked and was lapped learns
 * it at the release (SHMRING_OVERRUN, the exact count: its next record is
 * the lent one's sequence + lost); read_with validates after the callback. */
static int put_counter(shmring_broadcast_producer *producer, int value, size_t length) {
    void *payload;
    int status = shmring_broadcast_try_reserve(producer, length, &payload);
    if (status != SHMRING_OK) return status;
    memset(payload, 0x5a, length);
    memcpy(payload, &value, sizeof value);
    return shmring_broadcast_commit(producer);
}

static int first_int(const void *data) { int value; memcpy(&value, data, sizeof value); return value; }

struct lapping { shmring_broadcast_producer *producer; int seen, writes; };
/* A read_with callback that laps its own consumer while it reads. */
static void read_then_lap(void *context, const void *data, size_t length) {
    struct lapping *lap = context;
    lap->seen = length >= sizeof(int) ? first_int(data) : -1;
    for (int i = 0; i < lap->writes; i++) CHECK(put_counter(lap->producer, 1000 + i, 100) == SHMRING_OK);
}

static void test_broadcast_in_place(void) {
    shmring_broadcast *ring;
    OK(shmring_broadcast_create(SHMRING_BACKING_ANON, NULL, 4096, 100, 4, SHMRING_BROADCAST_OVERWRITE, 0, NULL, &ring));
    shmring_broadcast_producer *producer;
    OK(shmring_broadcast_claim_producer(ring, SHMRING_WAIT_SPIN, &producer));
    shmring_broadcast_consumer *c;
    OK(shmring_broadcast_join(ring, 1, SHMRING_WAIT_SPIN, &c));
    void *payload = NULL;
    const void *data = NULL;
    size_t length = 0;
    uint64_t lost = 0;
    char buffer[128];
    /* Bad calls: codes, never an abort. */
    CHECK(shmring_broadcast_try_reserve(NULL, 4, &payload) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_try_reserve(producer, 4, NULL) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_try_reserve(producer, 101, &payload) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_try_reserve(producer, (size_t)-1, &payload) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_reserve(producer, 4, NAN, &payload) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_try_reserve((shmring_broadcast_producer *)(void *)c, 4, &payload) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_commit(NULL) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_broadcast_commit(producer)); /* nothing reserved: nothing published (as the record ring) */
    CHECK(shmring_broadcast_try_peek(c, &data, &length, &lost) == SHMRING_AGAIN);
    CHECK(shmring_broadcast_try_peek(NULL, &data, &length, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_try_peek(c, NULL, &length, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_peek(c, 1, &data, NULL, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_peek(c, NAN, &data, &length, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_peek(c, 0.02, &data, &length, &lost) == SHMRING_E_TIMED_OUT);
    CHECK(shmring_broadcast_release(NULL, &lost) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_broadcast_release(c, &lost)); /* nothing peeked: no effect (as the record ring) */
    CHECK(shmring_broadcast_read_with(c, NULL, NULL, 1, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_read_with(NULL, add_first_word, NULL, 1, &lost) == SHMRING_E_INVALID_ARGUMENT);
    /* Round trip: three reserves (try, blocking, empty), invisible until the commit. */
    OK(shmring_broadcast_try_reserve(producer, 5, &payload));
    memcpy(payload, "hello", 5);
    OK(shmring_broadcast_reserve(producer, 100, 1, &payload));
    memset(payload, 'z', 100);
    OK(shmring_broadcast_reserve(producer, 0, 1, &payload));
    CHECK(shmring_broadcast_try_peek(c, &data, &length, &lost) == SHMRING_AGAIN);
    OK(shmring_broadcast_commit(producer));
    OK(shmring_broadcast_try_peek(c, &data, &length, &lost));
    CHECK(length == 5 && memcmp(data, "hello", 5) == 0);
    /* One lent record at a time; every other read waits for its release. */
    const void *again;
    CHECK(shmring_broadcast_try_peek(c, &again, &length, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_peek(c, 1, &again, &length, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_read(c, buffer, sizeof buffer, 1, &length, &lost) == SHMRING_E_INVALID_ARGUMENT);
    size_t lengths[2], got;
    CHECK(shmring_broadcast_read_many(c, buffer, sizeof buffer, lengths, 2, 1, &got, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_broadcast_read_with(c, add_first_word, NULL, 1, &lost) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(memcmp(data, "hello", 5) == 0);
    OK(shmring_broadcast_release(c, &lost));
    OK(shmring_broadcast_peek(c, 1, &data, &length, &lost));
    CHECK(length == 100 && ((const char *)data)[0] == 'z' && ((const char *)data)[99] == 'z');
    OK(shmring_broadcast_release(c, &lost));
    OK(shmring_broadcast_peek(c, 1, &data, &length, &lost));
    CHECK(length == 0);
    OK(shmring_broadcast_release(c, NULL));
    /* The callback form. */
    sum_seen = 0;
    long word = 41;
    memcpy(buffer, &word, sizeof word);
    OK(shmring_broadcast_write(producer, buffer, sizeof word, 1));
    OK(shmring_broadcast_read_with(c, add_first_word, NULL, 1, &lost));
    CHECK(sum_seen == 41);
    /* Overwrite: peek, the producer laps the consumer (it never waits), the
     * release reports it; then the consumer continues at the oldest intact
     * record, exactly `lost` records after the lent one. */
    for (int i = 0; i < 10; i++) CHECK(put_counter(producer, i, 100) == SHMRING_OK);
    OK(shmring_broadcast_try_peek(c, &data, &length, &lost));
    int lent = first_int(data);
    CHECK(lent == 0 && length == 100);
    for (int i = 10; i < 200; i++) CHECK(put_counter(producer, i, 100) == SHMRING_OK); /* 4 KiB ring: lapped */
    uint64_t released = 0;
    CHECK(shmring_broadcast_release(c, &released) == SHMRING_OVERRUN);
    CHECK(released > 100 && released < 200);
    OK(shmring_broadcast_try_peek(c, &data, &length, &lost));
    CHECK(first_int(data) == lent + (int)released); /* the lent record and the lost ones, none more */
    OK(shmring_broadcast_release(c, &lost));         /* nothing written meanwhile: intact */
    for (int i = lent + (int)released + 1; i < 200; i++) {
        CHECK(shmring_broadcast_try_peek(c, &data, &length, &lost) == SHMRING_OK && first_int(data) == i);
        OK(shmring_broadcast_release(c, &lost));
    }
    CHECK(shmring_broadcast_try_peek(c, &data, &length, &lost) == SHMRING_AGAIN);
    /* The callback form, lapped while its callback reads: the check after
     * the callback reports the torn read, with the exact count. */
    CHECK(put_counter(producer, 200, 100) == SHMRING_OK);
    struct lapping lap = {producer, -1, 100};
    released = 0;
    CHECK(shmring_broadcast_read_with(c, read_then_lap, &lap, 1, &released) == SHMRING_OVERRUN);
    CHECK(lap.seen == 200 && released > 50 && released < 101);
    OK(shmring_broadcast_try_peek(c, &data, &length, &lost));
    CHECK(first_int(data) == 1000 + (int)released - 1); /* record 200 and the first released - 1 of the lap */
    OK(shmring_broadcast_release(c, &lost));
    /* Closed and freed ends: codes. */
    OK(shmring_broadcast_producer_close(producer));
    CHECK(shmring_broadcast_try_reserve(producer, 4, &payload) == SHMRING_E_CLOSED_HANDLE);
    CHECK(shmring_broadcast_reserve(producer, 4, 1, &payload) == SHMRING_E_CLOSED_HANDLE);
    CHECK(shmring_broadcast_commit(producer) == SHMRING_E_CLOSED_HANDLE);
    int status;
    while ((status = shmring_broadcast_peek(c, 1, &data, &length, &lost)) == SHMRING_OK) OK(shmring_broadcast_release(c, &lost));
    CHECK(status == SHMRING_END);
    CHECK(shmring_broadcast_read_with(c, add_first_word, NULL, 1, &lost) == SHMRING_END);
    shmring_broadcast_producer_free(producer);
    shmring_broadcast_consumer_free(c);
    shmring_broadcast_free(ring);
}

/* Broadcast reserve under block waits for the slowest live consumer (try:
 * SHMRING_AGAIN; blocking: times out) and a lent record keeps its room until
 * the release, which is always SHMRING_OK there; under evict, a consumer
 * evicted while it holds a lent record learns it at the release. */
static void test_broadcast_in_place_policies(void) {
    shmring_broadcast_policy policies[2] = {SHMRING_BROADCAST_BLOCK, SHMRING_BROADCAST_EVICT};
    for (int k = 0; k < 2; k++) {
        shmring_broadcast *ring;
        OK(shmring_broadcast_create(SHMRING_BACKING_ANON, NULL, 4096, 100, 2, policies[k], 0.05, NULL, &ring));
        shmring_broadcast_producer *producer;
        OK(shmring_broadcast_claim_producer(ring, SHMRING_WAIT_SPIN, &producer));
        shmring_broadcast_consumer *c;
        OK(shmring_broadcast_join(ring, 0, SHMRING_WAIT_SPIN, &c));
        int written = 0, status;
        while ((status = put_counter(producer, written, 100)) == SHMRING_OK) written++;
        CHECK(status == SHMRING_AGAIN && written > 20 && written <= 4096 / 100);
        const void *data;
        size_t length;
        uint64_t lost = 0;
        OK(shmring_broadcast_peek(c, 1, &data, &length, &lost));
        CHECK(first_int(data) == 0);
        void *payload;
        if (policies[k] == SHMRING_BROADCAST_BLOCK) {
            CHECK(shmring_broadcast_reserve(producer, 100, 0.05, &payload) == SHMRING_E_TIMED_OUT);
            CHECK(first_int(data) == 0);
            OK(shmring_broadcast_release(c, &lost));
            for (int i = 1; i < 4; i++) {
                CHECK(shmring_broadcast_peek(c, 1, &data, &length, &lost) == SHMRING_OK && first_int(data) == i);
                OK(shmring_broadcast_release(c, &lost));
            }
            OK(shmring_broadcast_reserve(producer, 100, 1, &payload)); /* room again */
            OK(shmring_broadcast_commit(producer));
        } else {
            /* The producer waits 0.05 s for the consumer, then evicts it. */
            OK(shmring_broadcast_reserve(producer, 100, 5, &payload));
            memset(payload, 0, 100);
            OK(shmring_broadcast_commit(producer));
            CHECK(shmring_broadcast_release(c, &lost) == SHMRING_E_EVICTED);
        }
        shmring_broadcast_consumer_free(c);
        shmring_broadcast_producer_free(producer);
        shmring_broadcast_free(ring);
    }
}

struct journal_seen { size_t length; char first, last; };
static void note_journal_record(void *context, const void *data, size_t length) {
    struct journal_seen *seen = context;
    seen->length = length;
    seen->first = length > 0 ? ((const char *)data)[0] : 0;
    seen->last = length > 0 ? ((const char *)data)[length - 1] : 0;
}

/* test_journal_in_place's record i: 300 - i % 300 bytes of 'a' + i % 26. */
static size_t journal_length(uint64_t i) { return 300 - (size_t)(i % 300); }
static char journal_byte(uint64_t i) { return (char)('a' + (int)(i % 26)); }

/* Reads a tailer's records from `next` on until none comes for 0.02 s, in
 * place (peek/release, or read_with for every other record when
 * `callbacks`), checking each record and the exact count of each overrun;
 * returns the next sequence, counting the overruns in *overruns. */
static uint64_t drain_journal(shmring_journal_tailer *tailer, uint64_t next, int callbacks, int *overruns) {
    shmring_journal_record r;
    struct journal_seen seen = {0, 0, 0};
    for (;;) {
        const void *data = NULL;
        int status = callbacks && next % 2 ? shmring_journal_read_with(tailer, note_journal_record, &seen, 0.02, &r)
                                           : shmring_journal_peek(tailer, 0.02, &data, &r);
        if (status == SHMRING_OVERRUN) {
            CHECK(r.lost > 0);
            next += r.lost;
            ++*overruns;
            continue;
        }
        if (status != SHMRING_OK) { CHECK(status == SHMRING_E_TIMED_OUT); return next; }
        CHECK(r.sequence == next && r.length == journal_length(next) && r.timestamp > 0);
        if (data) {
            seen = (struct journal_seen){r.length, ((const char *)data)[0], ((const char *)data)[r.length - 1]};
            OK(shmring_journal_release(tailer));
        }
        CHECK(seen.length == r.length && seen.first == journal_byte(next) && seen.last == journal_byte(next));
        next++;
    }
}

/* Journal zero copy (ABI 1.4): records reserved in place across segment
 * rolls, checksums verified by the tailers (the CRC covers what the caller
 * wrote after the reserve); peek/release and read_with across the rolls; a
 * record lent while retention deletes its segment stays intact until the
 * release, and a tailer behind retention gets the exact overrun; bad calls. */
static void test_journal_in_place(void) {
    char directory[] = "/tmp/cabi-journal-XXXXXX", path[128];
    shmring_journal_options options;
    scratch_journal(directory, path, sizeof path, &options);
    options.retention_max_bytes = 2 * 65536;
    shmring_journal_producer *producer;
    OK(shmring_journal_open_producer(path, &options, &producer));
    void *payload = NULL;
    CHECK(shmring_journal_reserve(NULL, 4, &payload) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_reserve(producer, 4, NULL) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_reserve(producer, 1 << 20, &payload) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_reserve(producer, (size_t)-1, &payload) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_journal_commit(producer)); /* nothing reserved: nothing published */
    shmring_journal_tailer *tailer, *behind;
    OK(shmring_journal_open_tailer(path, SHMRING_JOURNAL_OLDEST, 0, SHMRING_WAIT_SPIN, 1, &tailer));
    OK(shmring_journal_open_tailer(path, SHMRING_JOURNAL_OLDEST, 0, SHMRING_WAIT_SPIN, 1, &behind));
    shmring_journal_record r;
    const void *data = NULL;
    CHECK(shmring_journal_peek(tailer, 0.02, &data, &r) == SHMRING_E_TIMED_OUT);
    CHECK(shmring_journal_peek(tailer, 1, NULL, &r) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_peek(tailer, 1, &data, NULL) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_peek(tailer, NAN, &data, &r) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_peek(NULL, 1, &data, &r) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_peek((shmring_journal_tailer *)(void *)producer, 1, &data, &r) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_release(NULL) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_journal_release(tailer)); /* nothing lent: no effect */
    CHECK(shmring_journal_read_with(tailer, NULL, NULL, 1, &r) == SHMRING_E_INVALID_ARGUMENT);
    /* Record 0, lent to `behind` before the rolls. */
    OK(shmring_journal_reserve(producer, journal_length(0), &payload));
    memset(payload, journal_byte(0), journal_length(0));
    OK(shmring_journal_commit(producer));
    const void *held;
    OK(shmring_journal_peek(behind, 1, &held, &r));
    CHECK(r.sequence == 0 && r.length == journal_length(0));
    /* Records 1..1999, ~5 segments of 64 KiB: retention deletes all but the
     * last two. Several reserves a commit. */
    for (uint64_t i = 1; i < 2000; i++) {
        OK(shmring_journal_reserve(producer, journal_length(i), &payload));
        memset(payload, journal_byte(i), journal_length(i));
        if (i % 7 == 0) OK(shmring_journal_commit(producer));
    }
    OK(shmring_journal_commit(producer));
    char expect[300];
    memset(expect, journal_byte(0), sizeof expect);
    CHECK(memcmp(held, expect, journal_length(0)) == 0); /* its segment was deleted: still mapped, unchanged */
    /* While lent: no other read. */
    char buffer[400];
    size_t count;
    CHECK(shmring_journal_peek(behind, 1, &data, &r) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_read(behind, buffer, sizeof buffer, 1, &r) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_read_many(behind, buffer, sizeof buffer, &r, 1, 1, &count) == SHMRING_E_INVALID_ARGUMENT);
    CHECK(shmring_journal_read_with(behind, note_journal_record, NULL, 1, &r) == SHMRING_E_INVALID_ARGUMENT);
    OK(shmring_journal_release(behind));
    OK(shmring_journal_release(behind));
    /* Both read their mapped first segment to its end, then find the next
     * ones deleted: one overrun each, exactly counted, then the rest. */
    int overruns = 0;
    CHECK(drain_journal(behind, 1, 0, &overruns) == 2000 && overruns == 1);
    overruns = 0;
    CHECK(drain_journal(tailer, 0, 1, &overruns) == 2000 && overruns == 1);
    OK(shmring_journal_producer_close(producer));
    CHECK(shmring_journal_reserve(producer, 4, &payload) == SHMRING_E_CLOSED_HANDLE);
    shmring_journal_producer_free(producer);
    CHECK(shmring_journal_peek(tailer, 1, &data, &r) == SHMRING_END);
    CHECK(shmring_journal_read_with(tailer, note_journal_record, NULL, 1, &r) == SHMRING_END);
    shmring_journal_tailer_free(tailer);
    shmring_journal_tailer_free(behind);
    remove_scratch(directory);
}

int main(void) {
    test_versions();
    test_bad_input();
    test_spsc(SHMRING_BACKING_MMAP);
    test_spsc(SHMRING_BACKING_SYSV);
    test_spsc_in_place();
    test_record(SHMRING_BACKING_MMAP);
    test_exchange(SHMRING_BACKING_MMAP, 0);
    test_exchange(SHMRING_BACKING_ANON, 1);
    test_journal();
    test_broadcast();
    test_broadcast_in_place();
    test_broadcast_in_place_policies();
    test_journal_in_place();
    test_record(SHMRING_BACKING_SYSV);
    test_layout_version_mismatch();
    test_mpmc(SHMRING_MPMC_SEMAPHORE);
    test_mpmc(SHMRING_MPMC_LOCK_FREE);
    if (failures) { fprintf(stderr, "abi_test: %d failures\n", failures); return 1; }
    printf("abi_test: all passed\n");
    return 0;
}
