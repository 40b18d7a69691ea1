// Out-of-line parts of the shim: system calls. See CShim.h.
#define _GNU_SOURCE
#include "CShim.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <mqueue.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const int cshim_IPC_PRIVATE = IPC_PRIVATE;
const int cshim_IPC_CREAT = IPC_CREAT;
const int cshim_IPC_EXCL = IPC_EXCL;
const int cshim_IPC_NOWAIT = IPC_NOWAIT;
const int cshim_SEM_UNDO = SEM_UNDO;
const int cshim_SHM_RDONLY = SHM_RDONLY;

uint64_t cshim_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void cshim_memcpy_repeat(void *dst, const void *src, size_t bytes, uint64_t times) {
    for (uint64_t i = 0; i < times; i++) {
        memcpy(dst, src, bytes);
        __asm__ __volatile__("" : : "r"(dst) : "memory");
    }
}

static struct timespec to_timespec(uint64_t ns) {
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
    return ts;
}

int cshim_futex_wait(uint32_t *addr, uint32_t expected, uint64_t timeout_ns) {
    struct timespec ts = to_timespec(timeout_ns);
    long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, timeout_ns ? &ts : NULL, NULL, 0);
    return (int)r;
}

int cshim_futex_wake(uint32_t *addr, int count) {
    return (int)syscall(SYS_futex, addr, FUTEX_WAKE, count, NULL, NULL, 0);
}

int cshim_membarrier_global_expedited_available(void) {
    long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    return commands > 0 && (commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0
        && (commands & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0;
}

int cshim_membarrier_register_global_expedited(void) {
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0);
}

int cshim_membarrier_global_expedited(void) {
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
}

// glibc leaves `union semun` to the caller (see semctl(2)).
union cshim_semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

int cshim_semctl_setval(int semid, int semnum, int value) {
    union cshim_semun arg = { .val = value };
    return semctl(semid, semnum, SETVAL, arg);
}

int cshim_semctl_getval(int semid, int semnum) { return semctl(semid, semnum, GETVAL); }

int cshim_semctl_setall(int semid, const unsigned short *values) {
    union cshim_semun arg = { .array = (unsigned short *)values };
    return semctl(semid, 0, SETALL, arg);
}

int cshim_semctl_rmid(int semid) { return semctl(semid, 0, IPC_RMID); }

int cshim_semctl_stat(int semid, int64_t *otime, uint64_t *nsems) {
    struct semid_ds ds;
    union cshim_semun arg = { .buf = &ds };
    if (semctl(semid, 0, IPC_STAT, arg) == -1) return -1;
    *otime = (int64_t)ds.sem_otime;
    *nsems = (uint64_t)ds.sem_nsems;
    return 0;
}

int cshim_semctl_perm(int semid, uint32_t *uid, uint32_t *mode) {
    struct semid_ds ds;
    union cshim_semun arg = { .buf = &ds };
    if (semctl(semid, 0, IPC_STAT, arg) == -1) return -1;
    *uid = (uint32_t)ds.sem_perm.uid;
    *mode = (uint32_t)ds.sem_perm.mode;
    return 0;
}

int cshim_semop1(int semid, unsigned short semnum, short op, short flags, uint64_t timeout_ns) {
    struct sembuf sb = { .sem_num = semnum, .sem_op = op, .sem_flg = flags };
    if (timeout_ns == 0) return semop(semid, &sb, 1);
    struct timespec ts = to_timespec(timeout_ns);
    return semtimedop(semid, &sb, 1, &ts);
}

int cshim_semget(int32_t key, int nsems, int flags) { return semget((key_t)key, nsems, flags); }

int cshim_semop(int semid, const cshim_sembuf *ops, unsigned count, uint64_t timeout_ns) {
    struct sembuf sb[8];
    if (count == 0 || count > 8) { errno = EINVAL; return -1; }
    for (unsigned i = 0; i < count; i++) {
        sb[i].sem_num = ops[i].num;
        sb[i].sem_op = ops[i].op;
        sb[i].sem_flg = ops[i].flags;
    }
    if (timeout_ns == 0) return semop(semid, sb, count);
    struct timespec ts = to_timespec(timeout_ns);
    return semtimedop(semid, sb, count, &ts);
}

int cshim_shmget(int32_t key, size_t size, int flags) { return shmget((key_t)key, size, flags); }

void *cshim_shmat(int shmid, int flags) {
    void *p = shmat(shmid, NULL, flags);
    return p == (void *)-1 ? NULL : p;
}

int cshim_shmdt(const void *addr) { return shmdt(addr); }
int cshim_shm_rmid(int shmid) { return shmctl(shmid, IPC_RMID, NULL); }

int cshim_shm_stat(int shmid, uint64_t *size, uint32_t *uid, uint32_t *mode) {
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) == -1) return -1;
    *size = (uint64_t)ds.shm_segsz;
    *uid = (uint32_t)ds.shm_perm.uid;
    *mode = (uint32_t)ds.shm_perm.mode;
    return 0;
}

int32_t cshim_ftok(const char *path, int proj_id) { return (int32_t)ftok(path, proj_id); }

int cshim_prefault(void *addr, size_t length, int write) {
#ifdef MADV_POPULATE_WRITE
    if (madvise(addr, length, MADV_POPULATE_WRITE) == 0) return 0;
    if (errno != EINVAL) return -1;
#endif
    long page = sysconf(_SC_PAGESIZE);
    if (page < 4096) page = 4096;
    volatile unsigned char *bytes = (volatile unsigned char *)addr;
    unsigned char sink = 0;
    for (size_t offset = 0; offset < length; offset += (size_t)page) {
        if (write) bytes[offset] = 0;
        else sink |= bytes[offset];
    }
    (void)sink;
    return 0;
}

const size_t cshim_sizeof_pthread_mutex = sizeof(pthread_mutex_t);
const size_t cshim_sizeof_sem = sizeof(sem_t);

int cshim_robust_mutex_init(void *m) {
    pthread_mutexattr_t attr;
    int r = pthread_mutexattr_init(&attr);
    if (r) return r;
    if ((r = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) == 0 &&
        (r = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) == 0)
        r = pthread_mutex_init((pthread_mutex_t *)m, &attr);
    pthread_mutexattr_destroy(&attr);
    return r;
}

int cshim_robust_mutex_lock(void *m) { return pthread_mutex_lock((pthread_mutex_t *)m); }
int cshim_robust_mutex_consistent(void *m) { return pthread_mutex_consistent((pthread_mutex_t *)m); }
int cshim_robust_mutex_unlock(void *m) { return pthread_mutex_unlock((pthread_mutex_t *)m); }
int cshim_robust_mutex_destroy(void *m) { return pthread_mutex_destroy((pthread_mutex_t *)m); }

int cshim_shared_sem_init(void *s, unsigned value) { return sem_init((sem_t *)s, 1, value); }

int cshim_shared_sem_wait(void *s, uint64_t timeout_ns) {
    // An available semaphore is taken without reading the clock.
    if (sem_trywait((sem_t *)s) == 0) return 0;
    if (errno != EAGAIN) return -1;
    if (timeout_ns == 0) return sem_wait((sem_t *)s);
    struct timespec abs = to_timespec(cshim_monotonic_ns() + timeout_ns);
    return sem_clockwait((sem_t *)s, CLOCK_MONOTONIC, &abs);
}

int cshim_shared_sem_post(void *s) { return sem_post((sem_t *)s); }
int cshim_shared_sem_destroy(void *s) { return sem_destroy((sem_t *)s); }


int cshim_fcntl_lock_whole_file(int fd, int write_lock) {
    // Beej's guide, "File Locking": l_len 0 covers the whole file however it grows.
    struct flock fl = { .l_type = write_lock ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    return fcntl(fd, write_lock ? F_SETLKW : F_SETLK, &fl);
}

int cshim_flock(int fd, int exclusive) { return flock(fd, exclusive ? LOCK_EX : LOCK_UN); }

int cshim_mkdtemp(char *template_path) { return mkdtemp(template_path) ? 0 : -1; }

int cshim_process_gone(int32_t pid) { return kill((pid_t)pid, 0) == -1 && errno == ESRCH; }

int cshim_die_with_parent(void) { return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); }

// MARK: - Kernel transports

const int cshim_SI_QUEUE = SI_QUEUE;

int cshim_sigrtmin(void) { return SIGRTMIN; }

int cshim_block_signal(int sig) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    return sigprocmask(SIG_BLOCK, &set, NULL);
}

int cshim_sigqueue_value(int32_t pid, int sig, uint64_t value) {
    union sigval v;
    v.sival_ptr = (void *)(uintptr_t)value;
    return sigqueue((pid_t)pid, sig, v);
}

int cshim_sigwait_value(int sig, uint64_t *value, int32_t *sender, int32_t *code) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    siginfo_t info;
    int r;
    do { r = sigwaitinfo(&set, &info); } while (r == -1 && errno == EINTR);
    if (r == -1) return -1;
    *value = (uint64_t)(uintptr_t)info.si_value.sival_ptr;
    *sender = (int32_t)info.si_pid;
    *code = (int32_t)info.si_code;
    return r;
}

int cshim_eventfd(void) { return eventfd(0, EFD_CLOEXEC); }

int cshim_mq_create(const char *name, long maxmsg, long msgsize) {
    struct mq_attr attr = { .mq_flags = 0, .mq_maxmsg = maxmsg, .mq_msgsize = msgsize, .mq_curmsgs = 0 };
    return (int)mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
}

int cshim_mq_open(const char *name, int oflag) { return (int)mq_open(name, oflag | O_CLOEXEC); }
int cshim_mq_send(int mqd, const void *bytes, size_t length) { return mq_send((mqd_t)mqd, bytes, length, 0); }
long cshim_mq_receive(int mqd, void *bytes, size_t capacity) { return (long)mq_receive((mqd_t)mqd, bytes, capacity, NULL); }
int cshim_mq_unlink(const char *name) { return mq_unlink(name); }
int cshim_mq_close(int mqd) { return mq_close((mqd_t)mqd); }

static int unix_address(const char *path, struct sockaddr_un *addr) {
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr->sun_path)) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr->sun_path, path);
    return 0;
}

int cshim_unix_bind(int fd, const char *path) {
    struct sockaddr_un addr;
    if (unix_address(path, &addr) == -1) return -1;
    return bind(fd, (struct sockaddr *)&addr, sizeof(addr));
}

int cshim_unix_connect(int fd, const char *path) {
    struct sockaddr_un addr;
    if (unix_address(path, &addr) == -1) return -1;
    return connect(fd, (struct sockaddr *)&addr, sizeof(addr));
}
