// SPDX-License-Identifier: GPL-2.0
/*
 * memtrace's kernel side: every BPF program, each delegating to the headers
 * beside it (procs: per-process figures; functions: traced calls; stacks:
 * sampled stacks; timeline; records: the ring buffer; stats: drop counters;
 * config: what was asked, as constants the verifier prunes by).
 *
 * Events: rss_stat (RSS counter changes), page_fault_user, the exits of
 * mmap/munmap/mremap/brk, fork/exec/exit, and uprobes on traced functions.
 *
 * Aggregation happens here, in maps: figures per process, per traced function,
 * bytes per sampled stack; userspace reads the maps. Nothing is streamed per
 * event (per page, per fault, per mapping): rss_stat alone fires once per page
 * brought in, and a record each would cost the traced program at every page
 * (a wakeup ~30 us, against ~12 us for the fault itself) and memtrace a CPU to
 * keep up. Two ring buffers carry the rest, each record bounded by a count,
 * an interval or a number of bytes, never one per event:
 * - `events` (records.bpf.h): what must be ordered in time or acted on while
 *   the process lives: exec (command line), exit (final figures), timeline
 *   points (one per process and interval with activity), call marks (per
 *   process, the first MT_MARKS_PER_FUNC calls of each traced function and
 *   every call that sets a new maximum), executable mappings (read the
 *   process's maps again) and return sites of tail calls (probe them);
 * - `stack_events` (stacks.bpf.h): stack copies for DWARF unwinding, sampled
 *   by bytes, on a ring of their own so a burst of them never crowds out the
 *   records above; with --stacks peak|end also each frame-pointer sample and
 *   each successful syscall that took pages out of RSS or moved them
 *   (resident.bpf.h): one per sample or per such syscall, never per page.
 *
 * Pointer fields of the kernel's objects (task->mm, task->signal) are read
 * with BPF_CORE_READ, not dereferenced: each direct load of a pointer field
 * from a trusted pointer makes this kernel's verifier look up four
 * "TYPE__safe_*" names by a linear scan of vmlinux's BTF, along every path it
 * explores (~14% of memtrace's start-up). Only in programs that run per
 * process (fork, exec, exit, first sight), where a probe read costs nothing
 * that shows.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/abi.h"
#include "config.bpf.h"
#include "exec_hold.bpf.h"
#include "functions.bpf.h"
#include "mappings.bpf.h"
#include "procs.bpf.h"
#include "python.bpf.h"
#include "python_calls.bpf.h"
#include "records.bpf.h"
#include "resident.bpf.h"
#include "stacks.bpf.h"
#include "stats.bpf.h"
#include "timeline.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* proc_begin(), after ending the calls the process's previous program left
 * open if it exec'd. --stacks peak|end: the previous program's pages are gone. */
static __always_inline struct mt_proc *image_begin(__u32 tgid, __u32 ppid, struct task_struct *task,
						   __u64 mm, __u32 flags)
{
	if (mt_cfg.funcs) {
		if (mt_cfg.py_patterns)
			py_calls_end_with_image(tgid, mm);
		calls_end_with_image(tgid, mm);
	}
	if (mt_cfg.stacks == MT_STACKS_RESIDENT) {
		struct mt_proc *old = bpf_map_lookup_elem(&procs, &tgid);
		if (old && old->mm != mm)
			send_range(tgid, MT_RANGE_RESET, 0, 0, 0, 0);
	}
	return proc_begin(tgid, ppid, task, mm, flags);
}

/* rss_stat on an mm nobody owns yet: the current task's own, if it is traced
 * (first sight, or an exec in progress). Otherwise not ours. */
static __always_inline void rss_first_sight(__u64 mm)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if ((__u64)BPF_CORE_READ(task, mm) != mm)
		return;
	__u32 tgid = task->tgid;
	if (!tgid_traced(tgid))
		return;
	/* Pages memtrace's held child touches in its first mm (a copy of
	 * memtrace's) are memtrace's code, not the command's: counted, reset at
	 * exec, never sampled. A later mm (its exec under way) is the command's. */
	__u8 *target = bpf_map_lookup_elem(&targets, &tgid);
	__u32 flags = 0;
	if (target && *target == MT_TARGET_HELD && !bpf_map_lookup_elem(&procs, &tgid))
		flags = MT_PROC_HELD;
	image_begin(tgid, BPF_CORE_READ(task, real_parent, tgid), task, mm, flags);
}

/* -f py: Python calls brought up to date with the thread's frames, at the RSS
 * before this event: attached before mt_rss_stat, which then counts the event
 * (raising the open calls' peaks). Loaded only for -f py:. */
SEC("tp_btf/rss_stat")
int BPF_PROG(mt_py_calls, struct mm_struct *mm, int member)
{
	__u64 key = (__u64)mm;
	__u32 *owner = bpf_map_lookup_elem(&mm_owner, &key);

	if (!owner || member == MT_RSS_SWAP)
		return 0;
	__u32 tgid = *owner;
	__u64 id = bpf_get_current_pid_tgid();
	if ((id >> 32) != tgid)
		return 0; /* another process's context (exit, /proc/PID/mem): no Python frames of its own */
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p || p->mm != key)
		return 0;
	py_calls_at_rss_change(p, tgid, (__u32)id);
	return 0;
}

SEC("tp_btf/rss_stat")
int BPF_PROG(mt_rss_stat, struct mm_struct *mm, int member)
{
	__u64 key = (__u64)mm;
	__u32 *owner = bpf_map_lookup_elem(&mm_owner, &key);

	if (!owner) {
		rss_first_sight(key);
		return 0;
	}
	__u32 tgid = *owner;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p || p->mm != key || (__u32)member >= MT_NR_RSS)
		return 0;

	__u32 m = (__u32)member;
	__s64 now = counter_exact(key, m);
	/* xchg: concurrent updates telescope, so increments are never counted twice */
	__s64 before = __sync_lock_test_and_set(&p->pages[m & (MT_NR_RSS - 1)], now);
	if (m != MT_RSS_SWAP && in_total(p))
		total_add((__s64)positive(now) - (__s64)positive(before));
	if (m != MT_RSS_SWAP && now > before) {
		__sync_fetch_and_add(&p->touched, (__u64)(now - before));
		/* pages this process's own thread brought in: its stack says why */
		if ((mt_cfg.stacks == MT_STACKS_TOUCH || mt_cfg.stacks == MT_STACKS_RESIDENT) &&
		    !(p->flags & MT_PROC_HELD) && (bpf_get_current_pid_tgid() >> 32) == tgid)
			sample_growth(ctx, tgid, (__u64)(now - before) * mt_cfg.page_size, rss_of(p),
				      mt_cfg.stacks == MT_STACKS_RESIDENT ? fault_page_now() : 0);
	}
	update_peak(p);
	if (mt_cfg.timeline_ns)
		timeline_update(p, rss_of(p));
	if (mt_cfg.funcs && p->active_calls) {
		__u64 rss = rss_of(p);
		if (rss > p->call_floor) {
			raise_call_peaks(tgid, rss);
			p->call_floor = rss;
		}
		close_left_calls(p, tgid);
	}
	MT_COUNT(rss_events);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(mt_page_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p)
		return 0;
	__sync_fetch_and_add(&p->faults, 1);
	if (mt_cfg.stacks == MT_STACKS_RESIDENT)
		note_fault(address);
	MT_COUNT(fault_events);
	return 0;
}

/* A syscall touching user memory (read() into fresh pages): the page it
 * brings in is known as well (--stacks peak|end; loaded only then). */
SEC("tp_btf/page_fault_kernel")
int BPF_PROG(mt_page_fault_kernel, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (mt_cfg.stacks != MT_STACKS_RESIDENT || address >= MT_USER_END ||
	    !bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	note_fault(address);
	return 0;
}

/* After mmap/munmap/mremap/brk: mapped and unmapped bytes from total_vm. Deltas
 * taken with xchg telescope exactly, whatever threads interleave. */
static __always_inline int vm_changed(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 mm = (__u64)BPF_CORE_READ(task, mm);
	if (!mm || mm != p->mm)
		return 0;
	__u64 vm = BPF_CORE_READ((struct mm_struct *)mm, total_vm);
	__u64 before = __sync_lock_test_and_set(&p->vm, vm);
	if (vm > before) {
		__sync_fetch_and_add(&p->mapped, vm - before);
		if (mt_cfg.stacks == MT_STACKS_MAP && !(p->flags & MT_PROC_HELD))
			sample_growth(ctx, tgid, (vm - before) * mt_cfg.page_size, rss_of(p), 0);
	}
	else if (before > vm)
		__sync_fetch_and_add(&p->unmapped, before - vm);
	update_peak_vm(p, vm);
	MT_COUNT(vm_events);
	return 0;
}

SEC("tp/syscalls/sys_enter_mmap")
int mt_enter_mmap(struct trace_event_raw_sys_enter *ctx)
{
	if (mt_cfg.stacks || mt_cfg.py_patterns)
		remember_mmap_prot(ctx);
	if (mt_cfg.stacks == MT_STACKS_RESIDENT && (ctx->args[3] & MT_MAP_FIXED))
		range_enter(MT_SYS_MMAP_FIXED, ctx->args[0], ctx->args[1], 0);
	return 0;
}

SEC("tp/syscalls/sys_exit_mmap")
int mt_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	if (mt_cfg.stacks || mt_cfg.py_patterns) {
		/* userspace reads the mappings again: names stacks, finds Python */
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		if (bpf_map_lookup_elem(&procs, &tgid))
			note_exec_mapping(tgid, ctx->ret);
	}
	if (mt_cfg.stacks == MT_STACKS_RESIDENT)
		range_exit(ctx->ret);
	return vm_changed(ctx);
}

/* --stacks peak|end (loaded only then): the arguments of the syscalls that
 * take pages out of RSS, for range_exit(). */
SEC("tp/syscalls/sys_enter_munmap")
int mt_enter_munmap(struct trace_event_raw_sys_enter *ctx)
{
	range_enter(MT_SYS_MUNMAP, ctx->args[0], ctx->args[1], 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_madvise")
int mt_enter_madvise(struct trace_event_raw_sys_enter *ctx)
{
	if (madvise_releases(ctx->args[2]))
		range_enter(MT_SYS_MADVISE, ctx->args[0], ctx->args[1], 0);
	return 0;
}

SEC("tp/syscalls/sys_exit_madvise")
int mt_exit_madvise(struct trace_event_raw_sys_exit *ctx)
{
	range_exit(ctx->ret);
	return 0;
}

SEC("tp/syscalls/sys_enter_mremap")
int mt_enter_mremap(struct trace_event_raw_sys_enter *ctx)
{
	range_enter(MT_SYS_MREMAP, ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

SEC("tp/syscalls/sys_enter_brk")
int mt_enter_brk(struct trace_event_raw_sys_enter *ctx)
{
	brk_enter();
	return 0;
}

SEC("tp/syscalls/sys_exit_munmap")
int mt_exit_munmap(struct trace_event_raw_sys_exit *ctx)
{
	if (mt_cfg.stacks == MT_STACKS_RESIDENT)
		range_exit(ctx->ret);
	return vm_changed(ctx);
}

SEC("tp/syscalls/sys_exit_mremap")
int mt_exit_mremap(struct trace_event_raw_sys_exit *ctx)
{
	if (mt_cfg.stacks == MT_STACKS_RESIDENT)
		range_exit(ctx->ret);
	return vm_changed(ctx);
}

SEC("tp/syscalls/sys_exit_brk")
int mt_exit_brk(struct trace_event_raw_sys_exit *ctx)
{
	if (mt_cfg.stacks == MT_STACKS_RESIDENT)
		range_exit(ctx->ret);
	return vm_changed(ctx);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(mt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid;
	__u32 ctgid = child->tgid;

	if (ptgid == ctgid)
		return 0; /* a new thread: same process */
	if (!mt_cfg.trace_all) {
		if (!mt_cfg.follow_children || !bpf_map_lookup_elem(&targets, &ptgid))
			return 0;
		__u8 one = MT_TARGET;
		if (bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY)) {
			MT_COUNT(procs_full);
			return 0;
		}
	}
	__u64 mm = (__u64)BPF_CORE_READ(child, mm);
	if (!mm)
		return 0; /* kernel thread */
	__u32 flags = MT_PROC_FORKED;
	if (mm == (__u64)BPF_CORE_READ(parent, mm))
		flags |= MT_BEGIN_SHARED_MM;
	image_begin(ctgid, ptgid, child, mm, flags);
	MT_COUNT(forks);
	return 0;
}

/* The exec record: who, and the new program's argv as /proc/PID/cmdline shows
 * it (NUL-separated). */
static __always_inline void send_exec(struct mt_proc *p, struct task_struct *task,
				      struct linux_binprm *bprm)
{
	struct mt_rec_exec *rec = record_reserve(sizeof(*rec), MT_REC_EXEC, p->tgid, bpf_ktime_get_ns());

	if (!rec)
		return;
	rec->ppid = p->ppid;
	__builtin_memcpy(rec->comm, p->comm, sizeof(rec->comm));
	__u64 arg_start = BPF_CORE_READ(task, mm, arg_start);
	__u64 arg_end = BPF_CORE_READ(task, mm, arg_end);
	__u64 len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > MT_ARGS_LEN)
		len = MT_ARGS_LEN;
	rec->args_len = 0;
	if (len && !bpf_probe_read_user(rec->args, len, (void *)arg_start))
		rec->args_len = len;
	rec->filename[0] = 0;
	if (bprm)
		bpf_probe_read_kernel_str(rec->filename, sizeof(rec->filename), BPF_CORE_READ(bprm, filename));
	/* stopped only with its record on the way: memtrace resumes what it reads */
	rec->held = hold_exec(task) ? 1 : 0;
	rec->pad = 0;
	bpf_ringbuf_submit(rec, 0);
}

/*
 * The program a traced process runs is about to be replaced by exec (the point
 * of no return: the old address space is still whole). Its figures go to
 * userspace as those of an earlier program of the process, so a chain of execs
 * hides no peak. Not for memtrace's held child (a copy of memtrace) nor for a
 * vfork-style child, whose address space is its parent's.
 */
SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(mt_prepare_exec, struct task_struct *task, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	__u64 mm = (__u64)BPF_CORE_READ(task, mm);

	if (!p || !mm || p->mm != mm || (p->flags & MT_PROC_HELD))
		return 0;
	__u32 *owner = bpf_map_lookup_elem(&mm_owner, &mm);
	if (!owner || *owner != tgid)
		return 0;
	set_pages_exact(p, mm);
	update_peak(p);
	p->kernel_hwm = kernel_hwm_of(mm);
	p->exit_ns = bpf_ktime_get_ns();
	struct mt_rec_exit *rec = record_reserve(sizeof(*rec), MT_REC_EXIT, tgid, p->exit_ns);
	if (!rec)
		return 0;
	__builtin_memcpy(&rec->proc, p, sizeof(rec->proc));
	rec->proc.flags |= MT_PROC_REPLACED;
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(mt_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid;

	if (!tgid_traced(tgid) && !bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	__u64 mm = (__u64)BPF_CORE_READ(task, mm);
	if (!mm)
		return 0;
	if (mt_cfg.py_patterns)
		py_calls_thread_end(tgid, task->pid, false);
	if (mt_cfg.funcs)
		close_thread_calls(tgid, task->pid); /* exec ends the calls of the old program */
	struct mt_proc *p = image_begin(tgid, BPF_CORE_READ(task, real_parent, tgid), task, mm,
					MT_PROC_EXECED);
	if (!p)
		return 0;
	p->flags = (p->flags & ~MT_PROC_HELD) | MT_PROC_EXECED;
	__u8 *target = bpf_map_lookup_elem(&targets, &tgid);
	if (target && *target == MT_TARGET_HELD)
		*target = MT_TARGET; /* the command runs: its stacks count */
	read_comm(p, task);
	MT_COUNT(execs);
	new_code_gen(tgid); /* another program: not known yet */
	bpf_map_delete_elem(&py_procs, &tgid); /* its interpreter, if any, is found again */
	if (mt_cfg.stacks && mt_cfg.per_thread)
		rename_sampled_thread(task->pid);
	send_exec(p, task, bprm);
	if (mt_cfg.map_records)
		send_exec_mappings(task, tgid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(mt_exit, struct task_struct *task, bool group_dead)
{
	__u32 tgid = task->tgid;

	if (mt_cfg.py_patterns)
		py_calls_thread_end(tgid, task->pid, true);
	if (mt_cfg.funcs)
		close_thread_calls(tgid, task->pid); /* a thread's open calls end with it */
	if (mt_cfg.stacks && !mt_cfg.per_thread)
		forget_sampled_thread(task->pid);
	if (!group_dead)
		return 0;
	forget_code_gen(tgid);
	bpf_map_delete_elem(&py_procs, &tgid);
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p)
		return 0;

	proc_exit_figures(p, task);
	if (mt_cfg.timeline_ns)
		timeline_end(p, rss_of(p));
	p->exit_ns = bpf_ktime_get_ns();
	if (in_total(p))
		total_add(-(__s64)rss_of(p)); /* its pages leave the sum (exit_mm frees them next) */
	p->flags |= MT_PROC_EXITED;
	read_comm(p, task);
	MT_COUNT(exits);

	struct mt_rec_exit *rec = record_reserve(sizeof(*rec), MT_REC_EXIT, tgid, p->exit_ns);
	if (!rec)
		return 0; /* kept in the map, marked exited: userspace reads it at the end */
	__builtin_memcpy(&rec->proc, p, sizeof(rec->proc));
	bpf_ringbuf_submit(rec, 0);

	if (mt_cfg.funcs)
		calls_forget(tgid);
	proc_forget(p, tgid);
	return 0;
}

/* Loaded with -f patterns that wait for exec'd programs (exec_hold.bpf.h). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(mt_self_exit, struct task_struct *task, bool group_dead)
{
	if (group_dead && task->tgid == mt_cfg.self_tgid)
		resume_all_held();
	return 0;
}

/* Run once at attach: seeds the figures of traced processes that exist already,
 * including idle ones that would otherwise produce no event. */
SEC("iter/task")
int mt_seed(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task || task->pid != task->tgid)
		return 0;
	__u64 mm = (__u64)BPF_CORE_READ(task, mm);
	if (!mm)
		return 0; /* kernel thread */
	__u32 tgid = task->tgid;
	if (!tgid_traced(tgid) || bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	image_begin(tgid, BPF_CORE_READ(task, real_parent, tgid), task, mm, MT_PROC_ATTACHED);
	return 0;
}

SEC("uprobe")
int mt_func_entry(struct pt_regs *ctx)
{
	return func_entry(ctx);
}

SEC("uprobe")
int mt_func_return(struct pt_regs *ctx)
{
	return func_return(ctx);
}
