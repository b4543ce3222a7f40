/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything dropped or failed is counted in struct mt_stats (abi.h). Some
 * counters move on every rss_stat, fault and mapping event: one copy per CPU
 * keeps them off a cache line shared between CPUs; userspace sums the copies.
 */
#ifndef MEMTRACE_STATS_BPF_H
#define MEMTRACE_STATS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memtrace/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_stats);
} stats SEC(".maps");

static __always_inline struct mt_stats *stats_of_this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

/* Still atomic: programs nest on one CPU (a user page fault taken by a user
 * memory read inside another program runs mt_page_fault_user within it). */
#define MT_COUNT(field)                                              \
	do {                                                         \
		struct mt_stats *mt_s_ = stats_of_this_cpu();        \
		if (mt_s_)                                           \
			__sync_fetch_and_add(&mt_s_->field, 1);      \
	} while (0)

#endif /* MEMTRACE_STATS_BPF_H */
