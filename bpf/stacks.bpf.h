/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stacks for flame graphs (--folded), sampled by bytes. A stack costs ~5-9 us
 * to take here (design.md section 2), a page fault ~12 us: so stacks are taken
 * once per mt_cfg.sample_bytes of growth per thread, never per fault, and
 * weighted by the bytes they stand for. User stacks are kept as (build-id, file
 * offset) frames, so they can be named after the process has exited.
 */
#ifndef MEMTRACE_STACKS_BPF_H
#define MEMTRACE_STACKS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/abi.h"
#include "config.bpf.h"
#include "maps.bpf.h"
#include "procs.bpf.h"
#include "records.bpf.h"
#include "mappings.bpf.h"
#include "python.bpf.h"
#include "stats.bpf.h"

/* Stack copies for DWARF unwinding, on a ring buffer of their own: a burst of
 * them never crowds out exec and exit records. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} stack_events SEC(".maps");

/* Where a copy is assembled: one entry per CPU (a per-CPU map value is limited
 * to 32 KiB). Room for a page beyond the largest copy keeps every read's bounds
 * provable to the verifier. */
struct mt_stack_scratch {
	struct mt_rec_stack rec;
	__u8 data[MT_STACK_COPY_MAX + 4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_stack_scratch);
} stack_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, struct mt_unwind_hint);
} unwind_hints SEC(".maps");

/* Per process (auto): its code generation, bumped at exec and at each
 * executable mmap; a hint is used only if it was made from this generation. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, __u64);
} code_gens SEC(".maps");

/* Auto: the process has code userspace has not looked at: DWARF until it has. */
static __always_inline void new_code_gen(__u32 tgid)
{
	if (mt_cfg.unwind != MT_UNWIND_AUTO)
		return;
	/* the process's hint, if any, is from an older generation now: unused */
	for (int tries = 0; tries < 2; tries++) {
		__u64 *gen = bpf_map_lookup_elem(&code_gens, &tgid);
		if (gen) {
			__sync_fetch_and_add(gen, 1);
			return;
		}
		__u64 first = 1;
		if (!bpf_map_update_elem(&code_gens, &tgid, &first, BPF_NOEXIST))
			return;
		/* another thread created it first: bump theirs */
	}
}

static __always_inline void forget_code_gen(__u32 tgid)
{
	if (mt_cfg.unwind != MT_UNWIND_AUTO)
		return;
	bpf_map_delete_elem(&unwind_hints, &tgid);
	bpf_map_delete_elem(&code_gens, &tgid);
}

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(map_flags, BPF_F_STACK_BUILD_ID);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MT_STACK_DEPTH * sizeof(struct bpf_stack_build_id));
} user_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MT_STACK_DEPTH * sizeof(__u64));
} kernel_stacks SEC(".maps");

/* Bytes per (process, thread if asked, stack). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mt_stack_key);
	__type(value, __u64);
} stack_bytes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 32768);
	__type(key, __u32); /* tid */
	__type(value, struct mt_sample_state);
} sample_state SEC(".maps");

static const struct mt_sample_state mt_zero_sample;

/* mmap's prot argument, from entry to exit, per thread */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} mmap_prot SEC(".maps");

#define MT_PROT_EXEC 0x4

/* Userspace names stack frames from the process's mappings: tell it when
 * executable code was mapped (ld.so loading libraries, dlopen), while the
 * process is surely alive to be read. */
static __always_inline void note_exec_mapping(__u32 tgid, long addr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *prot = bpf_map_lookup_elem(&mmap_prot, &tid);

	if (!prot)
		return;
	bool exec = *prot & MT_PROT_EXEC;
	bpf_map_delete_elem(&mmap_prot, &tid);
	if (!exec)
		return;
	new_code_gen(tgid);
	/* --folded: the mapping itself, read now (it serves as the notice too) */
	if (mt_cfg.map_records && addr > 0 &&
	    send_mapping(tgid, (__u64)addr))
		return;
	struct mt_rec_hdr *rec = record_reserve(sizeof(*rec), MT_REC_EXEC_MAP, tgid, bpf_ktime_get_ns());
	if (rec)
		bpf_ringbuf_submit(rec, 0);
}

/* Auto: walk by frame pointers unless the sampled instruction is in code
 * without them (or the process is not known yet). Global, like copy_stack:
 * its loop over the ranges is checked once, not along every path to it. */
__noinline int want_dwarf(__u32 tgid, __u64 ip)
{
	if (mt_cfg.unwind == MT_UNWIND_DWARF)
		return 1;
	if (mt_cfg.unwind != MT_UNWIND_AUTO)
		return 0;
	struct mt_unwind_hint *h = bpf_map_lookup_elem(&unwind_hints, &tgid);
	if (!h || h->dwarf_all)
		return 1;
	__u64 *gen = bpf_map_lookup_elem(&code_gens, &tgid);
	if (h->code_gen != (gen ? *gen : 0))
		return 1; /* made before code was mapped that it does not cover */
	for (int i = 0; i < MT_HINT_RANGES; i++) {
		if (i >= h->n)
			break;
		if (ip >= h->start[i] && ip < h->end[i])
			return 1;
	}
	return 0;
}

struct stack_vma {
	__u64 end;
};

static long stack_vma_end(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	((struct stack_vma *)ctx)->end = vma->vm_end;
	return 0;
}

/* Where the stack holding `sp` ends: copies stop there, so shallow stacks cost
 * little whatever --stack-bytes allows. The main thread's frames end where the
 * program began (mm->start_stack: argc; above are argv and the environment);
 * another thread's at the end of its stack's mapping. 0 if unknown. */
static __always_inline __u64 stack_top(__u64 sp)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 main_top = BPF_CORE_READ(task, mm, start_stack) + 16;
	if (sp < main_top && main_top - sp <= (8u << 20))
		return main_top;
	struct stack_vma found = {};
	if (bpf_find_vma(task, sp, stack_vma_end, &found, 0))
		return 0; /* the mm is locked for writing: copy what is allowed */
	return found.end;
}

/* One page of the stack copy. The bytes copied so far are kept in the copy's
 * header, a map value's field the verifier does not follow, so it checks
 * this step once or twice rather than once per page the loop could take. */
struct stack_copy_walk {
	struct mt_stack_scratch *buf;
	__u64 sp;
	__u32 want;
	__u32 flags;
};

static long stack_copy_step(__u32 index, void *ctx)
{
	struct stack_copy_walk *w = ctx;
	struct mt_stack_scratch *buf = w->buf;
	__u32 copied = buf->rec.size;

	if (copied >= w->want)
		return 1;
	__u64 src = w->sp + copied;
	__u32 len = 4096 - (__u32)(src & 4095);
	if (len > w->want - copied)
		len = w->want - copied;
	__u32 off = copied & (MT_STACK_COPY_MAX - 1);
	if (len == 0 || len > 4096)
		return 1;
	if (bpf_probe_read_user(&buf->data[off], len, (const void *)src)) {
		w->flags |= MT_COPY_ENDED_EARLY;
		return 1;
	}
	buf->rec.size = copied + len;
	return 0;
}

/* Sends the current thread's user registers and the top of its user stack to
 * userspace, which unwinds it with DWARF CFI. Read page by page: one read
 * across the stack's top end would fail whole. `ids`: tgid << 32 | tid.
 * A global function (scalar arguments only): the verifier checks its page
 * loop and the Python frame walk once per program, not along every path of
 * the caller that leads here (~150 ms of mt_rss_stat's load otherwise). */
__noinline int copy_stack(__u64 ids, __u64 weight, __u64 rss, __s64 kernel_stack, __u64 addr)
{
	__u32 tgid = (__u32)(ids >> 32), tid = (__u32)ids;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u32 cpu = bpf_get_smp_processor_id();
	if (cpu >= mt_cfg.copy_cpus)
		return 0;
	struct mt_stack_scratch *buf = bpf_map_lookup_elem(&stack_scratch, &cpu);
	if (!buf)
		return 0;
	__u64 sp = PT_REGS_SP_CORE(regs);
	__u32 copied = 0;
	__u32 flags = 0;
	/* On the main thread's stack, frames end where the program began
	 * (mm->start_stack: argc); above are argv and the environment. */
	__u32 want = mt_cfg.stack_copy;
	__u64 top = want ? stack_top(sp) : 0; /* none wanted: Python frames only (--lines) */
	if (top > sp && top - sp <= want) {
		want = (__u32)(top - sp);
		flags |= MT_COPY_ENDED_EARLY; /* the whole stack: nothing is cut */
	}
	struct stack_copy_walk walk = {.buf = buf, .sp = sp, .want = want};
	buf->rec.size = 0;
	bpf_loop(MT_STACK_COPY_MAX / 4096 + 1, stack_copy_step, &walk, 0);
	flags |= walk.flags;
	copied = buf->rec.size;
	if (copied > MT_STACK_COPY_MAX)
		copied = MT_STACK_COPY_MAX;
	buf->rec.hdr.type = MT_REC_STACK;
	buf->rec.hdr.tgid = tgid;
	buf->rec.hdr.ts_ns = bpf_ktime_get_ns();
	buf->rec.tid = tid;
	buf->rec.kernel_stack = (__s32)kernel_stack;
	buf->rec.weight = weight;
	buf->rec.rss = rss;
	buf->rec.ip = PT_REGS_IP_CORE(regs);
	buf->rec.sp = sp;
	buf->rec.bp = PT_REGS_FP_CORE(regs);
	buf->rec.addr = addr;
	buf->rec.size = copied;
	buf->rec.flags = flags;
	if (mt_cfg.py_stack_frames)
		py_frames(&buf->rec, tgid);
	else
		buf->rec.py_count = buf->rec.py_status = 0;
	if (bpf_ringbuf_output(&stack_events, buf, sizeof(buf->rec) + copied, lazy_wakeup(&stack_events)))
		MT_COUNT(stack_copy_drops);
	else
		MT_COUNT(stack_copies);
	return 0;
}

/* --stacks peak|end: each frame-pointer sample goes to userspace with its
 * page, to be replayed against the ranges that leave RSS. */
static __always_inline void send_sample(const struct mt_stack_key *key, __u64 weight, __u64 addr)
{
	struct mt_rec_sample *rec = bpf_ringbuf_reserve(&stack_events, sizeof(*rec), 0);

	if (!rec) {
		MT_COUNT(samples_dropped);
		return;
	}
	rec->hdr.type = MT_REC_SAMPLE;
	rec->hdr.tgid = key->tgid;
	rec->hdr.ts_ns = bpf_ktime_get_ns();
	rec->tid = key->tid;
	rec->user_stack = key->user_stack;
	rec->kernel_stack = key->kernel_stack;
	rec->pad = 0;
	rec->weight = weight;
	rec->addr = addr;
	bpf_ringbuf_submit(rec, lazy_wakeup(&stack_events));
}

/* `bytes` of growth by the current thread of `tgid`: take its stack once
 * enough has accumulated. `ctx` is the program's context, for the stack;
 * `rss` the process's RSS now (pages), which copies carry (--lines).
 * `addr`: the page a user fault brought in (--stacks peak|end), or 0. */
static __always_inline void sample_growth(void *ctx, __u32 tgid, __u64 bytes, __u64 rss, __u64 addr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mt_sample_state *st = bpf_map_lookup_elem(&sample_state, &tid);

	if (!st) {
		/* the thread's first sample */
		st = map_lookup_or_init(&sample_state, &tid, &mt_zero_sample);
		if (!st)
			return;
		if (mt_cfg.per_thread)
			bpf_get_current_comm(st->comm, sizeof(st->comm));
	}
	__u64 pending = st->pending + bytes;
	if (pending < mt_cfg.sample_bytes) {
		st->pending = pending;
		return;
	}
	__u64 weight = pending - pending % mt_cfg.sample_bytes;
	st->pending = pending - weight;

	struct mt_stack_key key = {
		.tgid = tgid,
		.tid = mt_cfg.per_thread ? tid : 0,
		.user_stack = MT_STACK_LOST,
		.kernel_stack = MT_STACK_LOST,
	};
	long id;
	if (mt_cfg.kernel_stacks) {
		id = bpf_get_stackid(ctx, &kernel_stacks, 0);
		if (id >= 0)
			key.kernel_stack = (__s32)id;
		else
			MT_COUNT(kernel_stacks_lost);
	}
	MT_COUNT(stack_samples);
	if (mt_cfg.unwind != MT_UNWIND_FP) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		/* Python processes: copied, so their Python frames go along;
		 * --lines: every sample, for its RSS and its frames' lines */
		if (mt_cfg.lines || want_dwarf(tgid, PT_REGS_IP_CORE(regs)) || py_registered(tgid)) {
			copy_stack((__u64)tgid << 32 | key.tid, weight, rss, key.kernel_stack, addr);
			return;
		}
	}
	id = bpf_get_stackid(ctx, &user_stacks, BPF_F_USER_STACK);
	if (id >= 0)
		key.user_stack = (__s32)id;
	else
		MT_COUNT(user_stacks_lost);
	if (mt_cfg.stacks == MT_STACKS_RESIDENT) {
		send_sample(&key, weight, addr);
		return;
	}

	__u64 zero = 0;
	__u64 *total = map_lookup_or_init(&stack_bytes, &key, &zero);
	if (!total) {
		MT_COUNT(stack_bytes_full);
		return;
	}
	__sync_fetch_and_add(total, weight);
}

/* At mmap's entry: its prot argument, for note_exec_mapping() at its exit. */
static __always_inline void remember_mmap_prot(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	if (!bpf_map_lookup_elem(&procs, &tgid))
		return;
	__u64 prot = ctx->args[2];
	bpf_map_update_elem(&mmap_prot, &tid, &prot, BPF_ANY);
}

/* Per-thread stacks are named after the program the thread runs, not what it
 * was before exec. */
static __always_inline void rename_sampled_thread(__u32 tid)
{
	struct mt_sample_state *st = bpf_map_lookup_elem(&sample_state, &tid);

	if (st)
		bpf_get_current_comm(st->comm, sizeof(st->comm));
}

/* A thread ends: its sampling state goes (kept with per-thread stacks: it
 * names the thread's stacks at the end). */
static __always_inline void forget_sampled_thread(__u32 tid)
{
	bpf_map_delete_elem(&sample_state, &tid);
}

#endif /* MEMTRACE_STACKS_BPF_H */
