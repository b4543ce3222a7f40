/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traced functions (-f): for every call, the process's RSS at entry (base), the
 * highest RSS of the process while the call is open (peak, whatever thread
 * allocated), and the RSS at return (net = return - base). Aggregated per
 * process and function in `func_stats`.
 *
 * Probes: one at the entry, one on each ret instruction, one on each jmp that
 * leaves the function (tail call). No uretprobes: their trampoline replaces the
 * return address, and C++ exception unwinding through it calls std::terminate.
 *
 * Frames are matched by the user stack pointer at entry (the slot of the return
 * address): a frame whose slot lies below the thread's stack pointer has ended,
 * returned or not. The programs (mt_func_entry, mt_func_return) are in
 * memtrace.bpf.c; the calls of a thread also end when it exits or execs.
 */
#ifndef MEMTRACE_FUNCTIONS_BPF_H
#define MEMTRACE_FUNCTIONS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/abi.h"
#include "config.bpf.h"
#include "maps.bpf.h"
#include "procs.bpf.h"
#include "records.bpf.h"
#include "stats.bpf.h"

/* Beyond this distance the stack pointer is taken to be on another stack (a
 * signal stack, a coroutine): frames are then left open, not closed. */
#define MT_STACK_GUARD (8ull << 20)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct mt_thread_frames);
} thread_frames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tgid */
	__type(value, struct mt_call_slots);
} call_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct mt_func_key);
	__type(value, struct mt_func_stats);
} func_stats SEC(".maps");

/* Return addresses already reported, per process (value unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__uint(key_size, 16);            /* {tgid, pad, return address} */
	__type(value, __u64);
} retsites_seen SEC(".maps");

static const struct mt_thread_frames mt_zero_frames;
static const struct mt_call_slots mt_zero_slots;
static const struct mt_func_stats mt_zero_func_stats;

static __always_inline struct mt_func_stats *func_stats_of(__u32 tgid, __u32 func)
{
	struct mt_func_key key = {.tgid = tgid, .func = func};
	struct mt_func_stats *s = map_lookup_or_init(&func_stats, &key, &mt_zero_func_stats);

	if (!s)
		MT_COUNT(func_stats_full);
	return s;
}

/* A slot holds the running peak of one open call. */
static __noinline __u32 slot_take(struct mt_proc *p, __u32 tgid, __u64 rss)
{
	struct mt_call_slots *cs = map_lookup_or_init(&call_slots, &tgid, &mt_zero_slots);

	if (!cs)
		return MT_NO_SLOT;
	for (__u32 i = 0; i < MT_CALL_SLOTS; i++) {
		__u64 used = cs->used;
		__u64 bit = 1ull << i;
		if (used & bit)
			continue;
		if (__sync_val_compare_and_swap(&cs->used, used, used | bit) != used)
			continue;
		cs->peak[i] = rss;
		__sync_fetch_and_add(&p->active_calls, 1);
		/* every open call's running peak is >= the RSS now */
		p->call_floor = rss;
		return i;
	}
	MT_COUNT(slots_full);
	return MT_NO_SLOT;
}

/* Frees a slot; returns the running peak it held. */
static __always_inline __u64 slot_release(struct mt_proc *p, __u32 tgid, __u32 slot)
{
	if (slot >= MT_CALL_SLOTS)
		return 0;
	struct mt_call_slots *cs = bpf_map_lookup_elem(&call_slots, &tgid);
	if (!cs)
		return 0;
	__u64 peak = cs->peak[slot & (MT_CALL_SLOTS - 1)];
	__sync_fetch_and_and(&cs->used, ~(1ull << slot));
	if (__sync_fetch_and_add(&p->active_calls, -1) <= 1) {
		p->active_calls = 0;
		p->call_floor = ~0ull;
	}
	return peak;
}

/*
 * Called from rss_stat when the process's RSS rose: every open call whose
 * running peak is lower gets this RSS. Open calls' peaks never increase with
 * entry time (an earlier call's span covers a later one's), so after this all
 * of them are >= rss, and rss is the new floor.
 */
static __noinline void raise_call_peaks(__u32 tgid, __u64 rss)
{
	struct mt_call_slots *cs = bpf_map_lookup_elem(&call_slots, &tgid);

	if (!cs)
		return;
	__u64 used = cs->used;
	for (__u32 i = 0; i < MT_CALL_SLOTS; i++)
		if (((used >> i) & 1) && cs->peak[i] < rss)
			cs->peak[i] = rss;
}

/* The timeline's brackets: the first calls of each function in each process,
 * and every call that sets a new maximum; the others are only counted. */
static __always_inline void mark_call(struct mt_func_stats *s, __u32 tgid, __u32 tid,
				      struct mt_frame *f, __u64 peak, __u64 rss, __u32 returned,
				      bool new_max)
{
	if (s->marks >= MT_MARKS_PER_FUNC && !new_max) {
		__sync_fetch_and_add(&s->marks_dropped, 1);
		return;
	}
	struct mt_rec_mark *rec = record_reserve(sizeof(*rec), MT_REC_MARK, tgid, bpf_ktime_get_ns());
	if (!rec)
		return;
	__sync_fetch_and_add(&s->marks, 1);
	rec->tid = tid;
	rec->func = f->func;
	rec->entry_ns = f->entry_ns;
	rec->base = f->base;
	rec->peak = peak;
	rec->rss_end = rss;
	rec->returned = returned;
	rec->pad = 0;
	bpf_ringbuf_submit(rec, lazy_wakeup(&events));
}

/* Ends one call: its figures go to the function's aggregate. */
static __noinline void close_call(struct mt_proc *p, __u32 tgid, __u32 tid, struct mt_frame *f,
				  __u32 returned)
{
	if (f->folded)
		return; /* the outer call of the same function carries the figures */
	__u64 rss = rss_of(p);
	__u64 peak = f->base > rss ? f->base : rss;
	if (f->slot != MT_NO_SLOT) {
		__u64 running = slot_release(p, tgid, f->slot);
		if (running > peak)
			peak = running;
	} else if (p->peak_ns >= f->entry_ns && p->peak_rss > peak) {
		peak = p->peak_rss; /* no slot: the all-time peak, if it fell inside the call */
	}
	struct mt_func_stats *s = func_stats_of(tgid, f->func);
	if (!s)
		return;
	if (returned) {
		__sync_fetch_and_add(&s->returned, 1);
		__sync_fetch_and_add((__u64 *)&s->total_net, (__u64)((__s64)rss - (__s64)f->base));
	} else {
		__sync_fetch_and_add(&s->unreturned, 1);
	}
	bool first = s->max_exit_ns == 0;
	bool new_max = atomic_max(&s->max_peak_inc, peak - f->base);
	if (new_max || first) {
		s->max_base = f->base;
		s->max_entry_ns = f->entry_ns;
		s->max_exit_ns = bpf_ktime_get_ns();
		s->max_tid = tid;
	}
	atomic_max(&s->max_peak_rss, peak);
	if (mt_cfg.timeline_ns)
		mark_call(s, tgid, tid, f, peak, rss, returned, new_max);
}

#define MT_CLOSE_BELOW 0 /* frames whose return-address slot is below sp: they have ended */
#define MT_CLOSE_ALL 1   /* the thread ends or execs */

/* Pops and closes the frames that have ended, from the top of the thread's
 * stack; `id` is tgid << 32 | tid. Returns how many frames remain. */
static __noinline __u32 close_ended(struct mt_proc *p, struct mt_thread_frames *fr, __u64 id,
				    __u64 sp, __u32 mode)
{
	__u32 tgid = id >> 32, tid = (__u32)id;

	for (int i = 0; i < MT_MAX_FRAMES; i++) {
		__u32 depth = fr->depth;
		if (depth == 0 || depth > MT_MAX_FRAMES)
			return 0;
		struct mt_frame top = fr->f[(depth - 1) & (MT_MAX_FRAMES - 1)];
		if (mode != MT_CLOSE_ALL) {
			if (top.entry_sp >= sp)
				return depth; /* still open: at or above the frame we are in */
			if (sp - top.entry_sp >= MT_STACK_GUARD)
				return depth; /* another stack (signal stack, coroutine): leave it */
		}
		fr->depth = depth - 1;
		/* a frame that tail-called has returned through its callee */
		close_call(p, tgid, tid, &top, mode != MT_CLOSE_ALL && top.tailcall);
	}
	return fr->depth;
}

static __always_inline struct mt_thread_frames *frames_of(__u32 tid, __u32 tgid, bool create)
{
	struct mt_thread_frames *fr = bpf_map_lookup_elem(&thread_frames, &tid);

	if (fr && fr->tgid == tgid)
		return fr;
	if (!create)
		return NULL;
	/* new thread, or a thread id reused by another process */
	if (bpf_map_update_elem(&thread_frames, &tid, &mt_zero_frames, BPF_ANY)) {
		MT_COUNT(threads_full);
		return NULL;
	}
	fr = bpf_map_lookup_elem(&thread_frames, &tid);
	if (fr)
		fr->tgid = tgid;
	return fr;
}

/* A call left by a tail call: ask userspace (once per process and return
 * address) to probe where the tail callee will return. */
static __always_inline void want_retsite(__u32 tgid, __u32 func, __u64 ret_addr)
{
	struct {
		__u32 tgid;
		__u32 pad;
		__u64 ret_addr;
	} key = {.tgid = tgid, .ret_addr = ret_addr};
	__u64 one = 1;
	if (!ret_addr || bpf_map_update_elem(&retsites_seen, &key, &one, BPF_NOEXIST))
		return; /* reported already (or the map is full) */
	struct mt_rec_retsite *rec =
		record_reserve(sizeof(*rec), MT_REC_RETSITE, tgid, bpf_ktime_get_ns());
	if (!rec)
		return;
	rec->func = func;
	rec->pad = 0;
	rec->ret_addr = ret_addr;
	bpf_ringbuf_submit(rec, 0);
	MT_COUNT(retsites);
}

/* At the entry of a traced function: a frame is pushed on the thread's stack of
 * calls (after closing those it has left), and the call takes a slot for its
 * running peak. */
static __always_inline int func_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p)
		return 0; /* probes are per file: other processes use it too */
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 func = (__u32)cookie;
	struct mt_func_stats *s = func_stats_of(tgid, func);
	if (!s)
		return 0;
	__sync_fetch_and_add(&s->entry_hits, 1);

	struct mt_thread_frames *fr = frames_of(tid, tgid, true);
	if (!fr)
		return 0;
	__u64 sp = PT_REGS_SP(ctx);
	__u64 ret_addr = 0;
	bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)sp);
	__u32 depth = close_ended(p, fr, id, sp, MT_CLOSE_BELOW);
	if (depth > 0 && depth <= MT_MAX_FRAMES) {
		/* A frame at this very slot: either it tail-called into us (same return
		 * address, another function), or it has ended and we are a new call. */
		struct mt_frame top = fr->f[(depth - 1) & (MT_MAX_FRAMES - 1)];
		if (top.entry_sp == sp &&
		    !(top.tailcall && top.func != func && top.ret_addr == ret_addr)) {
			fr->depth = --depth;
			close_call(p, tgid, tid, &top, top.tailcall);
		}
	}
	if (depth >= MT_MAX_FRAMES) {
		__sync_fetch_and_add(&s->dropped, 1);
		MT_COUNT(frames_overflow);
		return 0;
	}
	__u16 folded = 0;
	for (int i = 0; i < MT_MAX_FRAMES; i++)
		if (i < depth && fr->f[i].func == func)
			folded = 1;

	struct mt_frame *f = &fr->f[depth & (MT_MAX_FRAMES - 1)];
	f->entry_sp = sp;
	f->ret_addr = ret_addr;
	f->func = func;
	f->folded = folded;
	f->tailcall = (cookie >> 32) == MT_PROBE_ENTRY_TAILCALL;
	f->entry_ns = bpf_ktime_get_ns();
	f->base = rss_of(p);
	if (folded) {
		f->slot = MT_NO_SLOT;
		__sync_fetch_and_add(&s->folded, 1);
	} else {
		f->slot = slot_take(p, tgid, f->base);
		__sync_fetch_and_add(&s->calls, 1);
	}
	fr->depth = depth + 1;
	if (f->tailcall)
		want_retsite(tgid, func, ret_addr);
	return 0;
}

/* At a ret or tail-call jmp of a traced function, or at the return address of
 * calls that left by a tail call (the cookie says which). */
static __always_inline int func_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p)
		return 0;
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 func = (__u32)cookie;
	struct mt_func_stats *s = func_stats_of(tgid, func);
	if (s)
		__sync_fetch_and_add(&s->return_hits, 1);
	struct mt_thread_frames *fr = frames_of(tid, tgid, false);
	if (!fr)
		return 0; /* a call that began before tracing */
	if ((cookie >> 32) == MT_PROBE_RETADDR) {
		/* back at the return address: the calls that tail-called away end here */
		close_ended(p, fr, id, PT_REGS_SP(ctx), MT_CLOSE_BELOW);
		return 0;
	}

	/* At a ret (or a tail-call jmp) the stack pointer is back at the slot of the
	 * return address: the frame at sp is the one leaving now. */
	__u64 sp = PT_REGS_SP(ctx);
	__u32 depth = close_ended(p, fr, id, sp, MT_CLOSE_BELOW);
	if (depth == 0 || depth > MT_MAX_FRAMES)
		return 0;
	struct mt_frame *top = &fr->f[(depth - 1) & (MT_MAX_FRAMES - 1)];
	if (top->entry_sp != sp || top->func != func)
		return 0; /* its entry was not seen (began before tracing, or dropped) */
	if ((cookie >> 32) == MT_PROBE_TAILCALL) {
		top->tailcall = 1; /* the callee will return for it */
		want_retsite(tgid, func, top->ret_addr);
		return 0;
	}
	struct mt_frame done = *top;
	fr->depth = depth - 1;
	close_call(p, tgid, tid, &done, 1);
	/* frames that tail-called into this one return with it */
	for (int i = 0; i < MT_MAX_FRAMES; i++) {
		__u32 d = fr->depth;
		if (d == 0 || d > MT_MAX_FRAMES)
			break;
		struct mt_frame below = fr->f[(d - 1) & (MT_MAX_FRAMES - 1)];
		if (below.entry_sp != sp)
			break;
		fr->depth = d - 1;
		close_call(p, tgid, tid, &below, below.tailcall);
	}
	return 0;
}

/* From rss_stat in the thread's own context: calls it has left without a ret
 * we saw (exception, longjmp, tail call) end once it runs above them. */
static __always_inline void close_left_calls(struct mt_proc *p, __u32 tgid)
{
	__u64 id = bpf_get_current_pid_tgid();
	if ((id >> 32) != tgid)
		return;
	__u32 tid = (__u32)id;
	struct mt_thread_frames *fr = frames_of(tid, tgid, false);
	if (!fr || fr->depth == 0)
		return;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 sp = BPF_CORE_READ(regs, sp);
	close_ended(p, fr, id, sp, MT_CLOSE_BELOW);
}

/* A thread ends (or execs): its open calls end unreturned. */
static __always_inline void close_thread_calls(__u32 tgid, __u32 tid)
{
	struct mt_thread_frames *fr = bpf_map_lookup_elem(&thread_frames, &tid);
	if (!fr)
		return;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (p && fr->tgid == tgid)
		close_ended(p, fr, ((__u64)tgid << 32) | tid, 0, MT_CLOSE_ALL);
	bpf_map_delete_elem(&thread_frames, &tid);
}

/* Process `tgid` is about to begin figures for address space `mm`. If it had
 * figures of another, it exec'd: the exec'ing thread's open calls end now,
 * measured against the old figures (its other threads are gone already: exec
 * ends them first), and the old program's call slots go. */
static __noinline void calls_end_with_image(__u32 tgid, __u64 mm)
{
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p || p->mm == mm)
		return;
	__u64 current = bpf_get_current_pid_tgid();
	if ((current >> 32) == tgid)
		close_thread_calls(tgid, (__u32)current);
	bpf_map_delete_elem(&call_slots, &tgid);
}

/* The process is gone: its call slots too (its threads' frames went with them). */
static __always_inline void calls_forget(__u32 tgid)
{
	bpf_map_delete_elem(&call_slots, &tgid);
}

#endif /* MEMTRACE_FUNCTIONS_BPF_H */
