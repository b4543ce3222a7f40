/* SPDX-License-Identifier: GPL-2.0 */
/* Map helpers shared by every part of the BPF side. */
#ifndef MEMTRACE_MAPS_BPF_H
#define MEMTRACE_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* The value at `key`, created from `init` if absent. NULL only if the map is
 * full (another CPU creating it first is fine: its entry is returned). */
static __always_inline void *map_lookup_or_init(void *map, const void *key, const void *init)
{
	void *value = bpf_map_lookup_elem(map, key);

	if (value)
		return value;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Lock-free max, for values updated from several CPUs at once (threads of one
 * process); true if `value` became the new maximum. Gives up after 8 lost
 * races: another CPU is raising it meanwhile. */
static __always_inline bool atomic_max(__u64 *where, __u64 value)
{
	__u64 seen = *where;

	for (int i = 0; i < 8 && value > seen; i++) {
		__u64 prev = __sync_val_compare_and_swap(where, seen, value);
		if (prev == seen)
			return true;
		seen = prev;
	}
	return false;
}

#endif /* MEMTRACE_MAPS_BPF_H */
