// CPlacement: where processes run and where memory lives. CPU affinity
// (sched_setaffinity and friends are GNU extensions) and NUMA through
// libnuma and the mempolicy system calls.
//
// Only the harness depends on this target, so only the harness links
// libnuma: an embedder of ShmRing builds without libnuma-dev. Every function
// returns -1 with errno set on failure, like the calls it wraps.
#ifndef CPLACEMENT_H
#define CPLACEMENT_H

#include <stddef.h>
#include <stdint.h>

// MARK: - CPUs

// Pins the calling process (pid 0) to one CPU. 0 or -1 with errno.
int cplacement_pin_to_cpu(int cpu);
// Writes the CPUs the calling process may run on into `cpus` (at most `max`);
// returns how many, or -1 with errno.
int cplacement_allowed_cpus(int *cpus, int max);
// The CPU the caller is running on now, or -1.
int cplacement_current_cpu(void);
int cplacement_online_cpus(void);

// MARK: - NUMA (libnuma)

// 1 if the kernel supports NUMA and libnuma works, else 0.
int cplacement_numa_available(void);
int cplacement_numa_node_count(void);          // configured nodes; 1 without NUMA
int cplacement_numa_node_of_cpu(int cpu);      // node, 0 without NUMA, -1 with errno

// The calling thread's memory policy for pages it faults in from now on
// (set_mempolicy(2)): MPOL_BIND to the `count` nodes in `nodes` when
// `interleave` is 0, MPOL_INTERLEAVE over them otherwise. Shared memory
// (shmem: /dev/shm files, SysV segments, anonymous shared mappings) that has
// no policy of its own takes the faulting task's. 0 or -1 with errno.
int cplacement_set_memory_policy(const int *nodes, int count, int interleave);
// Back to the default policy (allocate on the faulting CPU's node).
int cplacement_reset_memory_policy(void);

// Where the pages of [addr, addr + length) are: for each page, its node, or a
// negative errno (-ENOENT: not present, -EFAULT: not mapped). move_pages(2)
// with a null node list, which only asks (where move_pages fails as a whole,
// get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR) page by page). Writes at most
// `max` entries; returns the number of pages in the range, or -1 with errno.
long cplacement_page_nodes(const void *addr, size_t length, int *nodes, size_t max);

#endif
