/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The timeline (--timeline): per process, the highest and the last RSS of the
 * current interval; one point goes out when an interval ends (at most one per
 * process and interval with activity: never one per event).
 */
#ifndef MEMTRACE_TIMELINE_BPF_H
#define MEMTRACE_TIMELINE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memtrace/abi.h"
#include "config.bpf.h"
#include "records.bpf.h"

static __always_inline void timeline_point(__u32 tgid, __u64 slot, __u64 rss_end, __u64 rss_max)
{
	struct mt_rec_point *rec =
		record_reserve(sizeof(*rec), MT_REC_POINT, tgid, (slot + 1) * mt_cfg.timeline_ns);

	if (!rec)
		return;
	rec->rss_end = rss_end;
	rec->rss_max = rss_max;
	bpf_ringbuf_submit(rec, lazy_wakeup(&events));
}

static __always_inline void timeline_update(struct mt_proc *p, __u64 rss)
{
	__u64 slot = bpf_ktime_get_ns() / mt_cfg.timeline_ns;

	if (slot != p->tl_slot) {
		if (p->tl_slot)
			timeline_point(p->tgid, p->tl_slot, p->tl_last, p->tl_max);
		p->tl_slot = slot;
		/* the level held since the interval began counts toward its max */
		p->tl_max = p->tl_last > rss ? p->tl_last : rss;
	} else if (rss > p->tl_max) {
		p->tl_max = rss;
	}
	p->tl_last = rss;
}

/* The process ends: its last interval, unfinished, goes out too. */
static __always_inline void timeline_end(struct mt_proc *p, __u64 rss)
{
	if (p->tl_slot)
		timeline_point(p->tgid, p->tl_slot, rss, p->tl_max > rss ? p->tl_max : rss);
}

#endif /* MEMTRACE_TIMELINE_BPF_H */
