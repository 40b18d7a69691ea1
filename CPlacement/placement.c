// CPU affinity and NUMA placement. See CPlacement.h.
#define _GNU_SOURCE
#include "CPlacement.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

int cplacement_pin_to_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) { errno = EINVAL; return -1; }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

int cplacement_allowed_cpus(int *cpus, int max) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == -1) return -1;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set)) cpus[n++] = c;
    return n;
}

int cplacement_current_cpu(void) { return sched_getcpu(); }
int cplacement_online_cpus(void) { return (int)sysconf(_SC_NPROCESSORS_ONLN); }

int cplacement_numa_available(void) { return numa_available() == -1 ? 0 : 1; }

int cplacement_numa_node_count(void) {
    if (numa_available() == -1) return 1;
    int n = numa_num_configured_nodes();
    return n < 1 ? 1 : n;
}

int cplacement_numa_node_of_cpu(int cpu) {
    if (numa_available() == -1) return 0;
    return numa_node_of_cpu(cpu);
}

// Node masks up to 1024 nodes, the kernel's usual MAX_NUMNODES ceiling.
enum { MASK_WORDS = 16, MASK_BITS = 64 * MASK_WORDS };

int cplacement_set_memory_policy(const int *nodes, int count, int interleave) {
    if (count < 1) { errno = EINVAL; return -1; }
    unsigned long mask[MASK_WORDS] = {0};
    for (int i = 0; i < count; i++) {
        if (nodes[i] < 0 || nodes[i] >= MASK_BITS) { errno = EINVAL; return -1; }
        mask[nodes[i] / 64] |= 1ul << (nodes[i] % 64);
    }
    return (int)set_mempolicy(interleave ? MPOL_INTERLEAVE : MPOL_BIND, mask, MASK_BITS + 1);
}

int cplacement_reset_memory_policy(void) { return (int)set_mempolicy(MPOL_DEFAULT, NULL, 0); }

long cplacement_page_nodes(const void *addr, size_t length, int *nodes, size_t max) {
    long pageSize = sysconf(_SC_PAGESIZE);
    if (pageSize <= 0) pageSize = 4096;
    uintptr_t first = (uintptr_t)addr & ~(uintptr_t)(pageSize - 1);
    uintptr_t end = (uintptr_t)addr + length;
    size_t pages = (size_t)((end - first + (uintptr_t)pageSize - 1) / (uintptr_t)pageSize);
    size_t n = pages < max ? pages : max;
    if (n == 0) return (long)pages;
    if (numa_available() == -1) {
        // A kernel without NUMA has one node: every page is on node 0.
        for (size_t i = 0; i < n; i++) nodes[i] = 0;
        return (long)pages;
    }
    void **addresses = malloc(n * sizeof(void *));
    if (!addresses) { errno = ENOMEM; return -1; }
    for (size_t i = 0; i < n; i++) addresses[i] = (void *)(first + i * (uintptr_t)pageSize);
    // pid 0 (this process), nodes NULL: report, move nothing. A page that
    // is not present stays negative (-ENOENT): asking get_mempolicy about it
    // would fault it in (a read fault maps the shared zero page, whose node
    // says nothing about the mapping).
    long r = move_pages(0, (unsigned long)n, addresses, NULL, nodes, 0);
    if (r < 0) {
        // move_pages itself unavailable: ask page by page.
        for (size_t i = 0; i < n; i++) {
            int node = -1;
            nodes[i] = get_mempolicy(&node, NULL, 0, addresses[i], MPOL_F_NODE | MPOL_F_ADDR) == 0 ? node : -errno;
        }
    }
    free(addresses);
    return (long)pages;
}
