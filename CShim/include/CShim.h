// CShim: the only C in the project.
//
// Swift cannot import C11 `_Atomic` types, so every atomic here takes a plain
// `uint64_t *` (or `uint32_t *`) that points into shared memory and casts it to
// an `_Atomic` pointer inside a `static inline` function. Clang inlines these
// into the Swift caller in release builds, so they cost what the instruction
// costs. Each function names its memory order; callers document why that order
// is sufficient at the call site.
//
// The rest wraps system calls that Swift cannot call cleanly (variadic
// `semctl`, `union semun`, futex) and returns -1 with errno set, like the
// calls they wrap.
#ifndef CSHIM_H
#define CSHIM_H

#include <stdint.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include "CShimNames.h"
#include "CShimLines.h"

// Cross-process atomics must be lock-free: a libatomic fallback lock lives in
// each process's own memory, so two processes would "lock" different locks
// and the shared word would be updated non-atomically, silently.
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free for cross-process shared memory");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free for cross-process shared memory");
_Static_assert(sizeof(long long) == 8 && sizeof(int) == 4, "the atomics below assume 64-bit long long and 32-bit int");

// MARK: - Atomics on raw shared-memory words (64-bit)

#define CSHIM_A64(p) ((_Atomic uint64_t *)(p))
#define CSHIM_A32(p) ((_Atomic uint32_t *)(p))

static inline uint64_t cshim_load_relaxed(const uint64_t *p) { return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed); }
static inline uint64_t cshim_load_acquire(const uint64_t *p) { return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_acquire); }
static inline uint64_t cshim_load_seq_cst(const uint64_t *p) { return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_seq_cst); }

static inline void cshim_store_relaxed(uint64_t *p, uint64_t v) { atomic_store_explicit(CSHIM_A64(p), v, memory_order_relaxed); }
static inline void cshim_store_release(uint64_t *p, uint64_t v) { atomic_store_explicit(CSHIM_A64(p), v, memory_order_release); }
static inline void cshim_store_seq_cst(uint64_t *p, uint64_t v) { atomic_store_explicit(CSHIM_A64(p), v, memory_order_seq_cst); }

static inline uint64_t cshim_exchange_relaxed(uint64_t *p, uint64_t v) { return atomic_exchange_explicit(CSHIM_A64(p), v, memory_order_relaxed); }
static inline uint64_t cshim_exchange_acquire(uint64_t *p, uint64_t v) { return atomic_exchange_explicit(CSHIM_A64(p), v, memory_order_acquire); }
static inline uint64_t cshim_exchange_release(uint64_t *p, uint64_t v) { return atomic_exchange_explicit(CSHIM_A64(p), v, memory_order_release); }
static inline uint64_t cshim_exchange_acq_rel(uint64_t *p, uint64_t v) { return atomic_exchange_explicit(CSHIM_A64(p), v, memory_order_acq_rel); }
static inline uint64_t cshim_exchange_seq_cst(uint64_t *p, uint64_t v) { return atomic_exchange_explicit(CSHIM_A64(p), v, memory_order_seq_cst); }

// Strong compare-exchange. On failure `*expected` receives the current value.
// The failure order is the strongest order allowed for a load no stronger than
// the success order (relaxed for relaxed/release, acquire otherwise).
static inline _Bool cshim_cas_relaxed(uint64_t *p, uint64_t *expected, uint64_t desired) { return atomic_compare_exchange_strong_explicit(CSHIM_A64(p), expected, desired, memory_order_relaxed, memory_order_relaxed); }
static inline _Bool cshim_cas_acquire(uint64_t *p, uint64_t *expected, uint64_t desired) { return atomic_compare_exchange_strong_explicit(CSHIM_A64(p), expected, desired, memory_order_acquire, memory_order_acquire); }
static inline _Bool cshim_cas_release(uint64_t *p, uint64_t *expected, uint64_t desired) { return atomic_compare_exchange_strong_explicit(CSHIM_A64(p), expected, desired, memory_order_release, memory_order_relaxed); }
static inline _Bool cshim_cas_acq_rel(uint64_t *p, uint64_t *expected, uint64_t desired) { return atomic_compare_exchange_strong_explicit(CSHIM_A64(p), expected, desired, memory_order_acq_rel, memory_order_acquire); }
static inline _Bool cshim_cas_seq_cst(uint64_t *p, uint64_t *expected, uint64_t desired) { return atomic_compare_exchange_strong_explicit(CSHIM_A64(p), expected, desired, memory_order_seq_cst, memory_order_seq_cst); }
// Weak compare-exchange: may fail spuriously; for retry loops.
static inline _Bool cshim_cas_weak_relaxed(uint64_t *p, uint64_t *expected, uint64_t desired) { return atomic_compare_exchange_weak_explicit(CSHIM_A64(p), expected, desired, memory_order_relaxed, memory_order_relaxed); }
static inline _Bool cshim_cas_weak_acquire(uint64_t *p, uint64_t *expected, uint64_t desired) { return atomic_compare_exchange_weak_explicit(CSHIM_A64(p), expected, desired, memory_order_acquire, memory_order_acquire); }
static inline _Bool cshim_cas_weak_acq_rel(uint64_t *p, uint64_t *expected, uint64_t desired) { return atomic_compare_exchange_weak_explicit(CSHIM_A64(p), expected, desired, memory_order_acq_rel, memory_order_acquire); }

static inline uint64_t cshim_fetch_add_relaxed(uint64_t *p, uint64_t v) { return atomic_fetch_add_explicit(CSHIM_A64(p), v, memory_order_relaxed); }
static inline uint64_t cshim_fetch_add_acquire(uint64_t *p, uint64_t v) { return atomic_fetch_add_explicit(CSHIM_A64(p), v, memory_order_acquire); }
static inline uint64_t cshim_fetch_add_release(uint64_t *p, uint64_t v) { return atomic_fetch_add_explicit(CSHIM_A64(p), v, memory_order_release); }
static inline uint64_t cshim_fetch_add_acq_rel(uint64_t *p, uint64_t v) { return atomic_fetch_add_explicit(CSHIM_A64(p), v, memory_order_acq_rel); }
static inline uint64_t cshim_fetch_add_seq_cst(uint64_t *p, uint64_t v) { return atomic_fetch_add_explicit(CSHIM_A64(p), v, memory_order_seq_cst); }

// MARK: - Atomics on 32-bit words (futex words must be 32-bit)

static inline uint32_t cshim_load32_relaxed(const uint32_t *p) { return atomic_load_explicit((_Atomic uint32_t *)p, memory_order_relaxed); }
static inline uint32_t cshim_load32_acquire(const uint32_t *p) { return atomic_load_explicit((_Atomic uint32_t *)p, memory_order_acquire); }
static inline void cshim_store32_relaxed(uint32_t *p, uint32_t v) { atomic_store_explicit(CSHIM_A32(p), v, memory_order_relaxed); }
static inline void cshim_store32_release(uint32_t *p, uint32_t v) { atomic_store_explicit(CSHIM_A32(p), v, memory_order_release); }
static inline uint32_t cshim_exchange32_acquire(uint32_t *p, uint32_t v) { return atomic_exchange_explicit(CSHIM_A32(p), v, memory_order_acquire); }
static inline uint32_t cshim_exchange32_release(uint32_t *p, uint32_t v) { return atomic_exchange_explicit(CSHIM_A32(p), v, memory_order_release); }
static inline uint32_t cshim_exchange32_acq_rel(uint32_t *p, uint32_t v) { return atomic_exchange_explicit(CSHIM_A32(p), v, memory_order_acq_rel); }
static inline _Bool cshim_cas32_acquire(uint32_t *p, uint32_t *expected, uint32_t desired) { return atomic_compare_exchange_strong_explicit(CSHIM_A32(p), expected, desired, memory_order_acquire, memory_order_relaxed); }
static inline uint32_t cshim_fetch_add32_relaxed(uint32_t *p, uint32_t v) { return atomic_fetch_add_explicit(CSHIM_A32(p), v, memory_order_relaxed); }
static inline uint32_t cshim_fetch_sub32_release(uint32_t *p, uint32_t v) { return atomic_fetch_sub_explicit(CSHIM_A32(p), v, memory_order_release); }

// A full fence, for the rare protocol that needs store->load ordering.
static inline void cshim_fence_seq_cst(void) { atomic_thread_fence(memory_order_seq_cst); }
// Seqlock halves (the broadcast ring): a writer's release fence keeps its
// earlier stores before its later ones; a reader's acquire fence keeps its
// earlier loads before its later ones. Both are compiler barriers on x86.
static inline void cshim_fence_release(void) { atomic_thread_fence(memory_order_release); }
static inline void cshim_fence_acquire(void) { atomic_thread_fence(memory_order_acquire); }
// Asks for the cache line at `p` ahead of a read (a hint: never faults, even
// outside any mapping). The journal's tailer reads ahead of its records with it.
static inline void cshim_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
// Compiler-only barrier: stops the optimiser from moving memory accesses
// across it (used around timed regions), emits no instruction.
static inline void cshim_compiler_barrier(void) { atomic_signal_fence(memory_order_seq_cst); }

// MARK: - CPU

// Spin-wait hint: `pause` on x86, `yield` on ARM. Lets the sibling hyperthread
// run and keeps the spinning core from flooding the memory system.
static inline void cshim_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

// The CPU's cycle counter, for timing short intervals within one process on
// one CPU (round trips): the TSC on x86 (lfence first, so the read cannot run
// ahead of earlier loads, such as the one that saw the reply), the virtual
// counter on ARM. Convert with a ratio calibrated against cshim_monotonic_ns;
// use only when the kernel itself trusts the counter (clocksource "tsc").
static inline uint64_t cshim_cycles(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_lfence();
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v) :: "memory");
    return v;
#else
    return 0;
#endif
}

// Monotonic clock in nanoseconds (CLOCK_MONOTONIC through the vDSO: no syscall
// on a machine with a stable TSC). Comparable across processes.
uint64_t cshim_monotonic_ns(void);

// Copies `bytes` from src to dst `times` times with memcpy, out of line and
// with a compiler memory clobber after each copy, so the optimiser can neither
// merge the copies nor drop them as dead stores (the memcpy bandwidth probe).
void cshim_memcpy_repeat(void *dst, const void *src, size_t bytes, uint64_t times);

// MARK: - futex (Linux)

// FUTEX_WAIT on a shared (not FUTEX_PRIVATE) word: sleeps while *addr == expected.
// timeout_ns == 0 waits forever. Returns 0, or -1 with errno (EAGAIN: value
// changed; ETIMEDOUT; EINTR).
int cshim_futex_wait(uint32_t *addr, uint32_t expected, uint64_t timeout_ns);
// FUTEX_WAKE: wakes up to `count` waiters. Returns the number woken or -1.
int cshim_futex_wake(uint32_t *addr, int count);

// MARK: - membarrier (Linux): the heavy half of an asymmetric fence

// MEMBARRIER_CMD_QUERY says whether MEMBARRIER_CMD_GLOBAL_EXPEDITED is
// available here (1) or not (0: a kernel without it, or a seccomp filter
// refusing it).
int cshim_membarrier_global_expedited_available(void);
// MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED for this process (idempotent).
// Returns 0, or -1 with errno.
int cshim_membarrier_register_global_expedited(void);
// MEMBARRIER_CMD_GLOBAL_EXPEDITED: every thread of every registered process
// that runs now passes a full memory barrier before this returns (and the
// caller's own accesses are ordered around the call). Returns 0, or -1.
int cshim_membarrier_global_expedited(void);

// MARK: - SysV IPC

// semctl is variadic and needs `union semun`; these wrap its commands.
int cshim_semctl_setval(int semid, int semnum, int value);
int cshim_semctl_getval(int semid, int semnum);
int cshim_semctl_setall(int semid, const unsigned short *values);
int cshim_semctl_rmid(int semid);
// IPC_STAT: writes sem_otime (0 if no semop yet) and sem_nsems.
int cshim_semctl_stat(int semid, int64_t *otime, uint64_t *nsems);
// IPC_STAT: writes the set's owner uid and mode (permission bits).
int cshim_semctl_perm(int semid, uint32_t *uid, uint32_t *mode);
// GETPID: the pid of the last semop on semaphore `semnum` (0 if none). In stale.c.
int cshim_semctl_getpid(int semid, int semnum);
// semop/semtimedop with one operation; flags is a mix of IPC_NOWAIT and SEM_UNDO.
// timeout_ns == 0 waits forever.
int cshim_semop1(int semid, unsigned short semnum, short op, short flags, uint64_t timeout_ns);

// semget, so the key stays an int32 on the Swift side.
int cshim_semget(int32_t key, int nsems, int flags);
// One semaphore operation of a multi-operation semop: Swift cannot build
// glibc's `struct sembuf` array portably, so callers fill these instead.
typedef struct cshim_sembuf {
    unsigned short num;
    short op;
    short flags; // IPC_NOWAIT and/or SEM_UNDO
} cshim_sembuf;
// semop/semtimedop over `count` (at most 8) operations applied atomically:
// all or none. timeout_ns == 0 waits forever.
int cshim_semop(int semid, const cshim_sembuf *ops, unsigned count, uint64_t timeout_ns);

int cshim_shmget(int32_t key, size_t size, int flags);
void *cshim_shmat(int shmid, int flags); // NULL (not (void*)-1) on failure
int cshim_shmdt(const void *addr);
int cshim_shm_rmid(int shmid);
// IPC_STAT: writes the segment size and owner uid.
int cshim_shm_stat(int shmid, uint64_t *size, uint32_t *uid, uint32_t *mode);
int32_t cshim_ftok(const char *path, int proj_id); // -1 with errno

// Faults in every page of [addr, addr + length) of a shared mapping:
// madvise(MADV_POPULATE_WRITE) (Linux 5.14+), which reports a page that cannot
// be backed (a truncated file, a full tmpfs) as -1/EFAULT or ENOMEM instead of
// raising SIGBUS. On an older kernel (EINVAL) it falls back to touching one
// byte per page through a volatile pointer (a write of zero when `write`, for
// a fresh zero-filled region; a read otherwise), which the compiler cannot drop.
// 0 or -1 with errno.
int cshim_prefault(void *addr, size_t length, int write);

// Constants Swift may not see as macros.
extern const int cshim_IPC_PRIVATE;
extern const int cshim_IPC_CREAT;
extern const int cshim_IPC_EXCL;
extern const int cshim_IPC_NOWAIT;
extern const int cshim_SEM_UNDO;
extern const int cshim_SHM_RDONLY;

// MARK: - Process-shared locks (the lock engine)

// pthread_mutex_t and sem_t live inside shared regions; Swift sizes their
// slots with these (sizeof from C, so the layout follows the C library).
extern const size_t cshim_sizeof_pthread_mutex;
extern const size_t cshim_sizeof_sem;

// Initialises a PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST mutex at `m`
// (cshim_sizeof_pthread_mutex bytes). Returns 0 or an error number (not errno),
// like the pthread calls.
int cshim_robust_mutex_init(void *m);
// pthread_mutex_lock: 0, EOWNERDEAD (the caller holds it and must make it
// consistent), or another error number.
int cshim_robust_mutex_lock(void *m);
int cshim_robust_mutex_consistent(void *m);
int cshim_robust_mutex_unlock(void *m);
int cshim_robust_mutex_destroy(void *m);

// sem_init(m, pshared = 1, value). 0 or -1 with errno.
int cshim_shared_sem_init(void *s, unsigned value);
// sem_trywait, then sem_clockwait on CLOCK_MONOTONIC until `timeout_ns` from
// now (0 waits forever).
// 0 or -1 with errno (ETIMEDOUT, EINTR).
int cshim_shared_sem_wait(void *s, uint64_t timeout_ns);
int cshim_shared_sem_post(void *s);
int cshim_shared_sem_destroy(void *s);

// fcntl(fd, F_SETLKW / F_SETLK, { type, SEEK_SET, 0, 0 }): a record lock on
// the whole file (fcntl is variadic). `type` is 1 for a write lock, 0 to
// unlock. 0 or -1 with errno (EINTR, EDEADLK).
int cshim_fcntl_lock_whole_file(int fd, int write_lock);
// flock(fd, LOCK_EX) when exclusive != 0, else flock(fd, LOCK_UN).
int cshim_flock(int fd, int exclusive);
// mkdtemp: replaces the trailing XXXXXX of `template` in place and creates
// the directory with mode 0700. 0 or -1 with errno.
int cshim_mkdtemp(char *template_path);
// kill(pid, 0) == -1 && errno == ESRCH: no such process (it exited and was reaped).
int cshim_process_gone(int32_t pid);

// MARK: - Process

// prctl(PR_SET_PDEATHSIG, SIGKILL): the kernel kills the caller when its parent dies.
int cshim_die_with_parent(void);

// CPU pinning and NUMA live in CPlacement (CPlacement/), which only the
// harness links: an embedder of ShmRing needs neither libnuma nor its headers.

// MARK: - Kernel transports: signals, eventfd, POSIX message queues, Unix sockets

// SIGRTMIN is a glibc function call behind a macro; Swift cannot see it.
int cshim_sigrtmin(void);
// Blocks one signal in the calling process (sigprocmask SIG_BLOCK). 0 or -1.
int cshim_block_signal(int sig);
// sigqueue with all 64 bits of `value` in si_value (sival_ptr). 0 or -1.
int cshim_sigqueue_value(int32_t pid, int sig, uint64_t value);
// sigwaitinfo for one blocked signal, retrying on EINTR. Writes si_value (64
// bits), the sender's pid and si_code. Returns the signal, or -1 with errno.
int cshim_sigwait_value(int sig, uint64_t *value, int32_t *sender, int32_t *code);
extern const int cshim_SI_QUEUE;

// eventfd(0, EFD_CLOEXEC): a 64-bit counter, not in Swift's Glibc module.
int cshim_eventfd(void);

// POSIX message queues (mq_open is variadic; mqueue.h is not in Glibc's module).
// Creates `name` exclusively, mode 0600, read-write, close-on-exec.
int cshim_mq_create(const char *name, long maxmsg, long msgsize);
// Opens an existing queue; `oflag` is O_RDONLY or O_WRONLY (O_CLOEXEC is added).
int cshim_mq_open(const char *name, int oflag);
int cshim_mq_send(int mqd, const void *bytes, size_t length);
// Returns the message's length, or -1 with errno (EMSGSIZE: capacity < mq_msgsize).
long cshim_mq_receive(int mqd, void *bytes, size_t capacity);
int cshim_mq_unlink(const char *name);
int cshim_mq_close(int mqd);

// bind/connect an AF_UNIX socket to a filesystem path (ENAMETOOLONG if the
// path does not fit sun_path). 0 or -1 with errno.
int cshim_unix_bind(int fd, const char *path);
int cshim_unix_connect(int fd, const char *path);

// MARK: - Liveness witnesses (witness.c)

// Bumped in every forked child (pthread_atfork child handler, installed by the
// first witness). Handles compare it with the value they were made under.
extern uint64_t cshim_fork_generation_word;
// A plain load, not an atomic one: the word is written only by the fork
// handler in a child that is still single-threaded (before fork returns
// there), never in a process that has other threads, so no load can race
// with the store; and a plain load leaves the compiler free to hoist the
// check out of a caller's loop.
static inline uint64_t cshim_fork_generation(void) { return cshim_fork_generation_word; }
// Installs the fork handlers (once; every witness call does it too).
void cshim_witness_install(void);
// A fresh open file description (O_RDWR, close-on-exec) of the file behind
// `source_fd`: `path` when it still names that file (O_NOFOLLOW, same device
// and inode), else /proc/self/fd/N. Registered so that a forked child closes
// it. The descriptor, or -1 with errno.
int cshim_witness_open(int source_fd, const char *path);
// Unregisters and closes a witness opened under fork generation `generation`;
// does nothing in a forked child (its handler closed the witness already).
void cshim_witness_close(int fd, uint64_t generation);
// fcntl(F_OFD_SETLK, F_WRLCK) on the byte at `offset`: 0 taken, 1 held by
// another open file description (a live holder), -1 with errno.
int cshim_ofd_trylock(int fd, uint64_t offset);
// fcntl(F_OFD_SETLK, F_RDLCK) on the byte at `offset`: a shared hold that
// any number of descriptions may take at once (a queue's members). 0 taken,
// 1 a writer holds it, -1 with errno.
int cshim_ofd_trylock_shared(int fd, uint64_t offset);
// fcntl(F_OFD_GETLK, F_WRLCK) on the byte at `offset`: 1 some other open file
// description holds a lock there, 0 none does, -1 with errno.
int cshim_ofd_is_held(int fd, uint64_t offset);
// memfd_create(name, MFD_CLOEXEC): the witness file of an anonymous region.
int cshim_memfd(const char *name);

// MARK: - Journal (crc32c.c)

// CRC32C (Castagnoli) of `length` bytes, continuing `crc` (0 to start): the
// SSE4.2 crc32 instruction when the CPU has it, else a table.
uint32_t cshim_crc32c(uint32_t crc, const void *bytes, size_t length);
// The CRC32C of `a` (a_length bytes) then `b` (b_length bytes), in one call:
// a journal record's checksum skips its own field (the length, then the rest).
uint32_t cshim_crc32c_pair(const void *a, size_t a_length, const void *b, size_t b_length);
// The table version alone (tests compare the two).
uint32_t cshim_crc32c_software(uint32_t crc, const void *bytes, size_t length);
// 1 when cshim_crc32c uses the crc32 instruction.
int cshim_crc32c_is_hardware(void);
// posix_fallocate(fd, 0, length): 0 or an error number (ENOSPC, EFBIG), not errno.
int cshim_posix_fallocate(int fd, uint64_t length);

#endif
