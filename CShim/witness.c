// Liveness witnesses: open file description (OFD) locks that the kernel
// drops when their holder dies, in any PID namespace. See Sources/ShmRing/
// Process/LivenessWitness.swift for how the rings use them and docs/design.md
// ("Ownership and liveness") for the byte offsets.
//
// Every witness descriptor is registered in a process-wide table; a
// pthread_atfork child handler closes them all in a forked child and bumps
// the fork generation, so that a child never keeps its parent's end alive
// (an OFD lock lives as long as any descriptor of its description does, and
// fork duplicates descriptors). Opening and registering happen under one
// mutex that the prepare handler also takes, so no witness can be open but
// not yet registered at the instant of a fork.
#define _GNU_SOURCE
#include "CShim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t cshim_fork_generation_word;

// Registered witness descriptors, stored as fd + 1 (0 = free slot).
#define CSHIM_WITNESS_SLOTS 4096
static int witness_slots[CSHIM_WITNESS_SLOTS];
static pthread_mutex_t witness_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t witness_once = PTHREAD_ONCE_INIT;

static void witness_prepare(void) { pthread_mutex_lock(&witness_mutex); }
static void witness_parent(void) { pthread_mutex_unlock(&witness_mutex); }
// Runs in the child, single-threaded, holding (a copy of) the mutex: close is
// async-signal-safe; the mutex is re-initialised rather than unlocked by a
// thread that did not lock it.
static void witness_child(void) {
    for (int i = 0; i < CSHIM_WITNESS_SLOTS; i++) {
        if (witness_slots[i] != 0) {
            close(witness_slots[i] - 1);
            witness_slots[i] = 0;
        }
    }
    // Plain: the child is single-threaded here; threads it starts later
    // are ordered after this by pthread_create (see cshim_fork_generation).
    cshim_fork_generation_word += 1;
    pthread_mutex_init(&witness_mutex, NULL);
}
static void witness_install(void) { pthread_atfork(witness_prepare, witness_parent, witness_child); }

void cshim_witness_install(void) { pthread_once(&witness_once, witness_install); }

// Opens `path` (if any, O_NOFOLLOW) when it is still the file behind
// `source_fd`, else /proc/self/fd/N of it: either way a new description.
static int open_fresh(int source_fd, const char *path) {
    struct stat source;
    if (fstat(source_fd, &source) != 0) return -1;
    if (path != NULL) {
        int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st) == 0 && st.st_dev == source.st_dev && st.st_ino == source.st_ino) return fd;
            close(fd);
        } else if (errno == EMFILE || errno == ENFILE) {
            return -1;
        }
        // Unlinked or replaced: reach the file we have through our own descriptor.
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", source_fd);
    int fd = open(proc, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_dev != source.st_dev || st.st_ino != source.st_ino) {
        close(fd);
        errno = ESTALE;
        return -1;
    }
    return fd;
}

int cshim_witness_open(int source_fd, const char *path) {
    cshim_witness_install();
    pthread_mutex_lock(&witness_mutex);
    int fd = open_fresh(source_fd, path);
    if (fd >= 0) {
        int slot = 0;
        while (slot < CSHIM_WITNESS_SLOTS && witness_slots[slot] != 0) slot++;
        if (slot == CSHIM_WITNESS_SLOTS) {
            close(fd);
            fd = -1;
            errno = EMFILE; // the table is full: as many witnesses as it holds
        } else {
            witness_slots[slot] = fd + 1;
        }
    }
    int saved = errno;
    pthread_mutex_unlock(&witness_mutex);
    errno = saved;
    return fd;
}

void cshim_witness_close(int fd, uint64_t generation) {
    pthread_mutex_lock(&witness_mutex);
    // In a forked child the child handler closed it already, and the number
    // may name another file by now: leave it alone.
    if (generation == cshim_fork_generation()) {
        for (int i = 0; i < CSHIM_WITNESS_SLOTS; i++) {
            if (witness_slots[i] == fd + 1) {
                witness_slots[i] = 0;
                close(fd);
                break;
            }
        }
    }
    pthread_mutex_unlock(&witness_mutex);
}

static int ofd_lock(int fd, int cmd, short type, uint64_t offset, struct flock *lock) {
    memset(lock, 0, sizeof *lock);
    lock->l_type = type;
    lock->l_whence = SEEK_SET;
    lock->l_start = (off_t)offset;
    lock->l_len = 1;
    lock->l_pid = 0; // must be 0 for OFD locks
    int r;
    do { r = fcntl(fd, cmd, lock); } while (r == -1 && errno == EINTR);
    return r;
}

int cshim_ofd_trylock(int fd, uint64_t offset) {
    struct flock lock;
    if (ofd_lock(fd, F_OFD_SETLK, F_WRLCK, offset, &lock) == 0) return 0;
    if (errno == EAGAIN || errno == EACCES) return 1;
    return -1;
}

int cshim_ofd_trylock_shared(int fd, uint64_t offset) {
    struct flock lock;
    if (ofd_lock(fd, F_OFD_SETLK, F_RDLCK, offset, &lock) == 0) return 0;
    if (errno == EAGAIN || errno == EACCES) return 1;
    return -1;
}

int cshim_ofd_is_held(int fd, uint64_t offset) {
    struct flock lock;
    if (ofd_lock(fd, F_OFD_GETLK, F_WRLCK, offset, &lock) != 0) return -1;
    return lock.l_type == F_UNLCK ? 0 : 1;
}

int cshim_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
