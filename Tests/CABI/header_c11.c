/* The public header must compile as strict C11 (make cabi-test). */
#include <shmring.h>
int main(void) {
    shmring_options options;
    shmring_options_init(&options);
    return shmring_abi_version() == SHMRING_ABI_VERSION ? 0 : 1;
}
