/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --stacks peak|end: which sampled pages are still resident. Two things make
 * it possible without an event per page:
 * - the page each touch sample brought in: page_fault_user (and
 *   page_fault_kernel, for a user address a syscall such as read() touched)
 *   runs in the faulting task before the fault's rss_stat; its address is
 *   kept in the task's storage with the task's fault count, which the kernel
 *   bumps only once the fault is done (mm_account_fault). An rss_stat that
 *   sees the same count belongs to that fault; otherwise the growth came
 *   without a fault of ours (MAP_POPULATE, mlock, get_user_pages) and has no
 *   page (address 0);
 * - the syscalls after which pages leave RSS or move: munmap, madvise
 *   (DONTNEED, DONTNEED_LOCKED, REMOVE, PAGEOUT), brk shrinking, mremap,
 *   mmap MAP_FIXED over a mapping; arguments kept per thread at entry, one
 *   record at a successful exit. exec ends the previous program's pages.
 * Userspace replays samples and ranges per process in time order.
 * Not seen: pages the kernel reclaims on its own (swap-out, file pages
 * dropped), and MADV_FREE pages (they stay in RSS until reclaimed).
 */
#ifndef MEMTRACE_RESIDENT_BPF_H
#define MEMTRACE_RESIDENT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memtrace/abi.h"
#include "config.bpf.h"
#include "procs.bpf.h"
#include "records.bpf.h"
#include "stacks.bpf.h"
#include "stats.bpf.h"

#define MT_USER_END 0x800000000000ull /* x86_64: user addresses lie below (4-level paging) */

struct mt_fault_note {
	__u64 addr;  /* page-aligned faulting address */
	__u64 count; /* the task's min_flt + maj_flt when the fault began */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mt_fault_note);
} fault_notes SEC(".maps");

static __always_inline void note_fault(__u64 address)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mt_fault_note *note = bpf_task_storage_get(&fault_notes, task, 0,
							  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!note)
		return;
	note->addr = address & ~(mt_cfg.page_size - 1);
	note->count = task->min_flt + task->maj_flt;
}

/* The page the current task's fault in progress brought in, or 0. */
static __always_inline __u64 fault_page_now(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mt_fault_note *note = bpf_task_storage_get(&fault_notes, task, 0, 0);

	if (!note || note->count != task->min_flt + task->maj_flt)
		return 0;
	return note->addr;
}

/* The arguments of a syscall that may take pages out of RSS, entry to exit. */
#define MT_SYS_MUNMAP 1
#define MT_SYS_MADVISE 2
#define MT_SYS_BRK 3
#define MT_SYS_MREMAP 4
#define MT_SYS_MMAP_FIXED 5

struct mt_range_args {
	__u32 sys;
	__u32 pad;
	__u64 start; /* brk: the break before the call */
	__u64 len;
	__u64 new_len;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct mt_range_args);
} range_args SEC(".maps");

#define MT_MADV_DONTNEED 4
#define MT_MADV_REMOVE 9
#define MT_MADV_PAGEOUT 21
#define MT_MADV_DONTNEED_LOCKED 24
#define MT_MAP_FIXED 0x10

static __always_inline bool madvise_releases(__u64 advice)
{
	return advice == MT_MADV_DONTNEED || advice == MT_MADV_REMOVE || advice == MT_MADV_PAGEOUT ||
	       advice == MT_MADV_DONTNEED_LOCKED;
}

/* At a syscall's entry, for a traced process (not memtrace's held child). */
static __always_inline void range_enter(__u32 sys, __u64 start, __u64 len, __u64 new_len)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p || (p->flags & MT_PROC_HELD))
		return;
	struct mt_range_args args = {.sys = sys, .start = start, .len = len, .new_len = new_len};
	if (bpf_map_update_elem(&range_args, &tid, &args, BPF_ANY))
		MT_COUNT(ranges_dropped);
}

static __always_inline void send_range(__u32 tgid, __u32 kind, __u64 start, __u64 len, __u64 to,
				       __u64 new_len)
{
	struct mt_rec_range *rec = bpf_ringbuf_reserve(&stack_events, sizeof(*rec), 0);

	if (!rec) {
		MT_COUNT(ranges_dropped);
		return;
	}
	rec->hdr.type = MT_REC_RANGE;
	rec->hdr.tgid = tgid;
	rec->hdr.ts_ns = bpf_ktime_get_ns();
	rec->kind = kind;
	rec->pad = 0;
	rec->start = start;
	rec->len = len;
	rec->to = to;
	rec->new_len = new_len;
	bpf_ringbuf_submit(rec, lazy_wakeup(&stack_events));
}

static __always_inline __u64 page_up(__u64 v)
{
	return (v + mt_cfg.page_size - 1) & ~(mt_cfg.page_size - 1);
}

/* At the syscall's exit: what its success did to the pages. */
static __always_inline void range_exit(__s64 ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct mt_range_args *a = bpf_map_lookup_elem(&range_args, &tid);

	if (!a)
		return;
	struct mt_range_args args = *a;
	bpf_map_delete_elem(&range_args, &tid);
	if (ret < 0 && ret > -4096 && args.sys != MT_SYS_BRK)
		return; /* failed: nothing changed */
	switch (args.sys) {
	case MT_SYS_MUNMAP:
	case MT_SYS_MADVISE:
		send_range(tgid, MT_RANGE_GONE, args.start, page_up(args.len), 0, 0);
		break;
	case MT_SYS_MMAP_FIXED:
		if ((__u64)ret == args.start)
			send_range(tgid, MT_RANGE_GONE, args.start, page_up(args.len), 0, 0);
		break;
	case MT_SYS_BRK:
		/* brk returns the break now; below the one before: the heap shrank */
		if ((__u64)ret < args.start)
			send_range(tgid, MT_RANGE_GONE, page_up((__u64)ret),
				   page_up(args.start) - page_up((__u64)ret), 0, 0);
		break;
	case MT_SYS_MREMAP:
		if (!args.len)
			break; /* a second mapping of shared memory: nothing moved */
		if ((__u64)ret != args.start)
			send_range(tgid, MT_RANGE_MOVED, args.start, page_up(args.len), (__u64)ret,
				   page_up(args.new_len));
		else if (args.new_len < args.len)
			send_range(tgid, MT_RANGE_GONE, args.start + page_up(args.new_len),
				   page_up(args.len) - page_up(args.new_len), 0, 0);
		break;
	}
}

/* brk's argument is the break wanted; the one before is the mm's. */
static __always_inline void brk_enter(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mm_struct *mm = BPF_CORE_READ(task, mm);

	if (mm)
		range_enter(MT_SYS_BRK, BPF_CORE_READ(mm, brk), 0, 0);
}

#endif /* MEMTRACE_RESIDENT_BPF_H */
