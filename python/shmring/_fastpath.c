/* The one-record-per-call fast path of the Python package (issue 17).
 *
 * ctypes spends ~0.5 us converting arguments and releasing the GIL around
 * every call, several times what moving a 64-byte record through the ring
 * costs; one record per call then ran at 0.8 M records/s, behind pyzmq.
 * This module makes only the non-blocking calls, `shmring_record_try_write`,
 * `shmring_record_try_read`, `shmring_record_try_peek` and
 * `shmring_record_release` (and a batch read of its own over the last two),
 * with the GIL held (they never wait: bounded
 * work, no system call unless a parked peer must be woken), through function
 * pointers taken from the library ctypes already loaded (`bind`), so there
 * is one libshmring.so in the process and nothing to link. Everything else,
 * waiting included, stays in ctypes with the GIL released. The package works
 * without this module (it is optional at install; SHMRING_NO_FASTPATH=1
 * turns it off), only slower.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*try_write_fn)(void *producer, const void *data, size_t length);
typedef int (*try_read_fn)(void *consumer, void *buffer, size_t buffer_size, size_t *length);
typedef int (*try_peek_fn)(void *consumer, const void **data, size_t *length);
typedef int (*release_fn)(void *consumer);

static try_write_fn try_write;
static try_read_fn try_read;
static try_peek_fn try_peek;
static release_fn release;

enum { STATUS_OK = 0 };

/* bind(try_write, try_read, try_peek, release): the library's entry points' addresses. */
static PyObject *bind(PyObject *self, PyObject *args) {
    (void)self;
    unsigned long long w, r, p, l;
    if (!PyArg_ParseTuple(args, "KKKK", &w, &r, &p, &l)) return NULL;
    if (w == 0 || r == 0 || p == 0 || l == 0) {
        PyErr_SetString(PyExc_ValueError, "bind: a NULL entry point");
        return NULL;
    }
    try_write = (try_write_fn)(uintptr_t)w;
    try_read = (try_read_fn)(uintptr_t)r;
    try_peek = (try_peek_fn)(uintptr_t)p;
    release = (release_fn)(uintptr_t)l;
    Py_RETURN_NONE;
}

/* The checks every call starts with: bound, the right number of arguments,
 * and the first argument (a handle's address, an int) as a pointer. */
static int enter(const char *call, Py_ssize_t nargs, Py_ssize_t expected, PyObject *const *args, void **handle) {
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments", call, expected);
        return 1;
    }
    if (!try_write || !try_read || !try_peek || !release) {
        PyErr_SetString(PyExc_RuntimeError, "shmring._fastpath used before bind()");
        return 1;
    }
    *handle = PyLong_AsVoidPtr(args[0]);
    return *handle == NULL && PyErr_Occurred();
}

/* record_try_write(producer_address, data: bytes) -> status (int). */
static PyObject *record_try_write(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *producer;
    if (enter("record_try_write(producer, data)", nargs, 2, args, &producer)) return NULL;
    if (!PyBytes_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "record_try_write: data must be bytes");
        return NULL;
    }
    /* The bytes object is immutable and referenced by args for the call. */
    int status = try_write(producer, PyBytes_AS_STRING(args[1]), (size_t)PyBytes_GET_SIZE(args[1]));
    return PyLong_FromLong(status);
}

/* record_try_read(consumer_address, buffer_address, buffer_size) -> bytes (a
 * copy of the record) or the status (int) when there was none. */
static PyObject *record_try_read(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *consumer;
    if (enter("record_try_read(consumer, buffer, size)", nargs, 3, args, &consumer)) return NULL;
    void *buffer = PyLong_AsVoidPtr(args[1]);
    if (buffer == NULL && PyErr_Occurred()) return NULL;
    Py_ssize_t size = PyLong_AsSsize_t(args[2]);
    if (size < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "record_try_read: negative buffer size");
        return NULL;
    }
    size_t length = 0;
    int status = try_read(consumer, buffer, (size_t)size, &length);
    if (status != STATUS_OK) return PyLong_FromLong(status);
    if (length > (size_t)size) { /* the library never does this; refuse rather than over-read */
        PyErr_SetString(PyExc_RuntimeError, "record_try_read: record longer than the buffer");
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)buffer, (Py_ssize_t)length);
}

/* record_try_peek(consumer_address) -> a read-only memoryview of the next
 * record in the ring (no copy), or the status (int) when there was none. The
 * caller releases the view before record_release: after that the bytes may
 * be overwritten (rings.py's peek() does both when its block ends). */
static PyObject *record_try_peek(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *consumer;
    if (enter("record_try_peek(consumer)", nargs, 1, args, &consumer)) return NULL;
    const void *data = NULL;
    size_t length = 0;
    int status = try_peek(consumer, &data, &length);
    if (status != STATUS_OK) return PyLong_FromLong(status);
    if (length > (size_t)PY_SSIZE_T_MAX || (data == NULL && length != 0)) {
        PyErr_SetString(PyExc_RuntimeError, "record_try_peek: the library returned an impossible record");
        return NULL;
    }
    static char empty;
    return PyMemoryView_FromMemory(length ? (char *)(uintptr_t)data : &empty, (Py_ssize_t)length, PyBUF_READ);
}

/* record_try_read_many(consumer_address, max_count, max_bytes) -> a list of
 * bytes (copies of the records ready now: at most max_count, and no record
 * started once max_bytes were taken) or the status (int) when none was
 * ready. Each record is copied once, from the ring straight into its bytes
 * object (read_many through ctypes copies it three times: into a buffer,
 * into one bytes for the batch, into a slice), and handed back once every
 * RELEASE_BYTES copied (and at the end): a batch of large records held
 * until its end would stop the producer while the copies run (measured:
 * 64 KiB records 65 k/s held to the end of a 1 MiB batch, against 160 k/s
 * through ctypes, which releases before it slices). If a bytes object
 * cannot be made (MemoryError), the records peeked since the last release
 * are released and dropped with the list, as record_try_read drops the
 * record it could not return. */
enum { RELEASE_BYTES = 16384 };
static PyObject *record_try_read_many(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *consumer;
    if (enter("record_try_read_many(consumer, max_count, max_bytes)", nargs, 3, args, &consumer)) return NULL;
    Py_ssize_t max_count = PyLong_AsSsize_t(args[1]);
    if (max_count == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t max_bytes = PyLong_AsSsize_t(args[2]);
    if (max_bytes == -1 && PyErr_Occurred()) return NULL;
    if (max_count < 1 || max_bytes < 1) {
        PyErr_SetString(PyExc_ValueError, "record_try_read_many: max_count and max_bytes must be at least 1");
        return NULL;
    }
    PyObject *records = NULL;
    Py_ssize_t taken = 0, held = 0;
    int status = STATUS_OK;
    for (Py_ssize_t n = 0; n < max_count && taken < max_bytes; n++) {
        const void *data = NULL;
        size_t length = 0;
        status = try_peek(consumer, &data, &length);
        if (status != STATUS_OK) break;
        if (length > (size_t)PY_SSIZE_T_MAX || (data == NULL && length != 0)) {
            PyErr_SetString(PyExc_RuntimeError, "record_try_read_many: the library returned an impossible record");
            break;
        }
        if (records == NULL && (records = PyList_New(0)) == NULL) break;
        PyObject *record = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)length);
        if (record == NULL) break;
        int appended = PyList_Append(records, record);
        Py_DECREF(record);
        if (appended != 0) break;
        taken += (Py_ssize_t)length;
        held += (Py_ssize_t)length;
        if (held >= RELEASE_BYTES) {
            /* Copied: give the producer its room back now. */
            int released = release(consumer);
            if (released != STATUS_OK) {
                Py_DECREF(records);
                return PyLong_FromLong(released);
            }
            held = 0;
        }
    }
    if (records == NULL && !PyErr_Occurred()) return PyLong_FromLong(status); /* none ready, or an error status */
    /* Something was peeked (or an error came after a peek): hand it back. */
    int released = release(consumer);
    if (PyErr_Occurred()) {
        Py_XDECREF(records);
        return NULL;
    }
    if (released != STATUS_OK) {
        Py_DECREF(records);
        return PyLong_FromLong(released);
    }
    return records;
}

/* record_release(consumer_address) -> status: hands back what was peeked. */
static PyObject *record_release(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *consumer;
    if (enter("record_release(consumer)", nargs, 1, args, &consumer)) return NULL;
    return PyLong_FromLong(release(consumer));
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS, "bind(try_write, try_read, try_peek, release): entry point addresses"},
    {"record_try_write", (PyCFunction)(void (*)(void))record_try_write, METH_FASTCALL,
     "record_try_write(producer, data) -> status"},
    {"record_try_read", (PyCFunction)(void (*)(void))record_try_read, METH_FASTCALL,
     "record_try_read(consumer, buffer, size) -> bytes or status"},
    {"record_try_peek", (PyCFunction)(void (*)(void))record_try_peek, METH_FASTCALL,
     "record_try_peek(consumer) -> read-only memoryview into the ring, or status"},
    {"record_try_read_many", (PyCFunction)(void (*)(void))record_try_read_many, METH_FASTCALL,
     "record_try_read_many(consumer, max_count, max_bytes) -> list of bytes, or status"},
    {"record_release", (PyCFunction)(void (*)(void))record_release, METH_FASTCALL,
     "record_release(consumer) -> status"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "shmring._fastpath",
    "Non-blocking record calls without ctypes' per-call cost (see the source).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastpath(void) { return PyModule_Create(&module); }
