// What the harness's stale reclaim (BenchHarness StaleLedger) asks of SysV
// semaphore sets. Its own file, so the shim's other parts stay untouched.
#include "CShim.h"
#include <sys/ipc.h>
#include <sys/sem.h>

int cshim_semctl_getpid(int semid, int semnum) {
    return semctl(semid, semnum, GETPID);
}
