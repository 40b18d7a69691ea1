// See CShimNames.h. Its own file, so the shim's other parts stay untouched.
#include "CShim.h"
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

int cshim_flock_try_exclusive(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }

int cshim_sem_identity(int semid, int32_t *key, uint32_t *cuid, uint64_t *count, int64_t *ctime) {
    struct semid_ds ds;
    // semctl is variadic and IPC_STAT takes a union semun whose `buf` is the
    // first member: passing the pointer itself is what glibc expects.
    if (semctl(semid, 0, IPC_STAT, &ds) == -1) return -1;
    *key = (int32_t)ds.sem_perm.__key;
    *cuid = (uint32_t)ds.sem_perm.cuid;
    *count = (uint64_t)ds.sem_nsems;
    *ctime = (int64_t)ds.sem_ctime;
    return 0;
}

int cshim_msg_identity(int msqid, int32_t *key, uint32_t *cuid, int64_t *ctime) {
    struct msqid_ds ds;
    if (msgctl(msqid, IPC_STAT, &ds) == -1) return -1;
    *key = (int32_t)ds.msg_perm.__key;
    *cuid = (uint32_t)ds.msg_perm.cuid;
    *ctime = (int64_t)ds.msg_ctime;
    return 0;
}

int cshim_shm_identity(int shmid, int32_t *key, uint32_t *cuid, int32_t *cpid, int64_t *ctime) {
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) == -1) return -1;
    *key = (int32_t)ds.shm_perm.__key;
    *cuid = (uint32_t)ds.shm_perm.cuid;
    *cpid = (int32_t)ds.shm_cpid;
    *ctime = (int64_t)ds.shm_ctime;
    return 0;
}
