/* The thread-local last error of the C ABI (include/shmring.h). The Swift
 * entry points store it with shmring_internal_set_error on every failure;
 * this file is only its storage, in C because Swift has no thread-locals. */
#include "../../include/shmring.h"
#include "CShmRingABI.h"
#include <string.h>

static _Thread_local int last_code;
static _Thread_local int last_errno;
static _Thread_local int32_t last_pid;
static _Thread_local char last_message[512];
static _Thread_local char last_call[160];

static void copy_text(char *to, size_t size, const char *from) {
    if (!from) from = "";
    size_t n = strlen(from);
    if (n >= size) n = size - 1;
    memcpy(to, from, n);
    to[n] = 0;
}

void shmring_internal_set_error(int code, const char *message, int error_number, const char *call, int32_t pid) {
    last_code = code;
    last_errno = error_number;
    last_pid = pid;
    copy_text(last_message, sizeof last_message, message);
    copy_text(last_call, sizeof last_call, call);
}

int shmring_last_error_code(void) { return last_code; }
const char *shmring_last_error_message(void) { return last_message; }
int shmring_last_error_errno(void) { return last_errno; }
const char *shmring_last_error_call(void) { return last_call; }
int32_t shmring_last_error_pid(void) { return last_pid; }

const char *shmring_status_name(int status) {
    switch (status) {
    case SHMRING_OK: return "SHMRING_OK";
    case SHMRING_AGAIN: return "SHMRING_AGAIN";
    case SHMRING_END: return "SHMRING_END";
    case SHMRING_OVERRUN: return "SHMRING_OVERRUN";
    case SHMRING_E_SYSTEM_CALL: return "SHMRING_E_SYSTEM_CALL";
    case SHMRING_E_NO_SUCH_REGION: return "SHMRING_E_NO_SUCH_REGION";
    case SHMRING_E_PERMISSION_DENIED: return "SHMRING_E_PERMISSION_DENIED";
    case SHMRING_E_NOT_A_RING: return "SHMRING_E_NOT_A_RING";
    case SHMRING_E_INCOMPATIBLE_VERSION: return "SHMRING_E_INCOMPATIBLE_VERSION";
    case SHMRING_E_SIZE_MISMATCH: return "SHMRING_E_SIZE_MISMATCH";
    case SHMRING_E_CORRUPTED_HEADER: return "SHMRING_E_CORRUPTED_HEADER";
    case SHMRING_E_WRONG_STRUCTURE: return "SHMRING_E_WRONG_STRUCTURE";
    case SHMRING_E_NOT_READY: return "SHMRING_E_NOT_READY";
    case SHMRING_E_SEMAPHORES_NOT_READY: return "SHMRING_E_SEMAPHORES_NOT_READY";
    case SHMRING_E_CORRUPT_RING: return "SHMRING_E_CORRUPT_RING";
    case SHMRING_E_INVALID_ARGUMENT: return "SHMRING_E_INVALID_ARGUMENT";
    case SHMRING_E_TIMED_OUT: return "SHMRING_E_TIMED_OUT";
    case SHMRING_E_ALREADY_EXISTS: return "SHMRING_E_ALREADY_EXISTS";
    case SHMRING_E_UNTRUSTED_OWNER: return "SHMRING_E_UNTRUSTED_OWNER";
    case SHMRING_E_UNSAFE_PERMISSIONS: return "SHMRING_E_UNSAFE_PERMISSIONS";
    case SHMRING_E_OUT_OF_SPACE: return "SHMRING_E_OUT_OF_SPACE";
    case SHMRING_E_SEMAPHORES_REMOVED: return "SHMRING_E_SEMAPHORES_REMOVED";
    case SHMRING_E_ENDPOINT_TAKEN: return "SHMRING_E_ENDPOINT_TAKEN";
    case SHMRING_E_PEER_DIED: return "SHMRING_E_PEER_DIED";
    case SHMRING_E_FORKED_HANDLE: return "SHMRING_E_FORKED_HANDLE";
    case SHMRING_E_PRODUCER_FAILED: return "SHMRING_E_PRODUCER_FAILED";
    case SHMRING_E_STREAM_CONSUMED: return "SHMRING_E_STREAM_CONSUMED";
    case SHMRING_E_CLOSED_HANDLE: return "SHMRING_E_CLOSED_HANDLE";
    case SHMRING_E_EVICTED: return "SHMRING_E_EVICTED";
    default: return "SHMRING_E_UNKNOWN";
    }
}
