/* What the Swift side of the C ABI (Sources/ShmRingC) imports: the public
 * header's types and status codes (not its function declarations, which
 * the Swift @_cdecl functions define), and the error setter below. */
#ifndef CSHMRING_ABI_H
#define CSHMRING_ABI_H
#define SHMRING_TYPES_ONLY
#include "../../../include/shmring.h"
#undef SHMRING_TYPES_ONLY

/* Records the calling thread's last error (shmring_last_error_*). Internal:
 * exported only because the Swift half of the library calls it. */
void shmring_internal_set_error(int code, const char *message, int error_number, const char *call, int32_t pid);
#endif
