// Out-of-line parts of the shim: system calls and libnuma. See CShim.h.
#define _GNU_SOURCE
#include "CShim.h"

#include <errno.h>
#include <linux/futex.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
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

int cshim_pin_to_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) { errno = EINVAL; return -1; }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

int cshim_allowed_cpus(int *cpus, int max) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == -1) return -1;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set)) cpus[n++] = c;
    return n;
}

int cshim_current_cpu(void) { return sched_getcpu(); }
int cshim_online_cpus(void) { return (int)sysconf(_SC_NPROCESSORS_ONLN); }
int cshim_die_with_parent(void) { return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); }

int cshim_numa_available(void) { return numa_available() == -1 ? 0 : 1; }

int cshim_numa_node_count(void) {
    if (numa_available() == -1) return 1;
    int n = numa_num_configured_nodes();
    return n < 1 ? 1 : n;
}

int cshim_numa_node_of_cpu(int cpu) {
    if (numa_available() == -1) return 0;
    return numa_node_of_cpu(cpu);
}

int cshim_numa_cpus_of_node(int node, int *cpus, int max) {
    if (numa_available() == -1) {
        if (node != 0) { errno = EINVAL; return -1; }
        return cshim_allowed_cpus(cpus, max);
    }
    struct bitmask *mask = numa_allocate_cpumask();
    if (!mask) { errno = ENOMEM; return -1; }
    if (numa_node_to_cpus(node, mask) == -1) { numa_free_cpumask(mask); return -1; }
    int n = 0;
    for (unsigned c = 0; c < mask->size && n < max; c++)
        if (numa_bitmask_isbitset(mask, c)) cpus[n++] = (int)c;
    numa_free_cpumask(mask);
    return n;
}

int cshim_numa_run_on_node(int node) {
    if (numa_available() == -1) { if (node == 0) return 0; errno = ENOSYS; return -1; }
    return numa_run_on_node(node);
}

int cshim_numa_bind_memory(void *addr, size_t length, int node) {
    if (numa_available() == -1) { if (node == 0) return 0; errno = ENOSYS; return -1; }
    if (node < 0 || node >= 64 * 16) { errno = EINVAL; return -1; }
    unsigned long mask[16] = {0};
    mask[node / 64] = 1ul << (node % 64);
    // MPOL_MF_MOVE also migrates pages already touched by the creator.
    return (int)mbind(addr, length, MPOL_BIND, mask, 64 * 16, MPOL_MF_MOVE);
}
