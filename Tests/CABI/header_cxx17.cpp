// The public header must compile as strict C++17 (make cabi-test).
#include <shmring.h>
int main() {
    shmring_options options;
    shmring_options_init(&options);
    return shmring_abi_version() == SHMRING_ABI_VERSION ? 0 : 1;
}
