// The parts of the shim that guard names (ShmRing's NameLock, SharedRegion's
// identity checks) and that recognise what a stale ledger recorded (the
// harness's StaleLedger). Included by CShim.h; implemented in names.c.
#ifndef CSHIM_NAMES_H
#define CSHIM_NAMES_H

#include <stdint.h>

// flock(fd, LOCK_EX | LOCK_NB): 0, or -1 with errno (EWOULDBLOCK while
// another open file description holds it).
int cshim_flock_try_exclusive(int fd);

// IPC_STAT of a semaphore set: its key, creator uid, number of semaphores
// and sem_ctime (creation, or the last semctl that changed it), in epoch
// seconds. 0 or -1 with errno.
int cshim_sem_identity(int semid, int32_t *key, uint32_t *cuid, uint64_t *count, int64_t *ctime);
// IPC_STAT of a message queue: its key, creator uid and msg_ctime
// (creation, or the last IPC_SET). 0 or -1 with errno.
int cshim_msg_identity(int msqid, int32_t *key, uint32_t *cuid, int64_t *ctime);
// IPC_STAT of a shared memory segment: its key, creator uid, creator pid
// and shm_ctime. 0 or -1 with errno.
int cshim_shm_identity(int shmid, int32_t *key, uint32_t *cuid, int32_t *cpid, int64_t *ctime);

#endif
