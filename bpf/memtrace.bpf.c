// SPDX-License-Identifier: GPL-2.0
/*
 * memtrace's kernel side: per-process memory figures aggregated in BPF maps.
 *
 * Events: rss_stat (RSS counter changes), page_fault_user, the exits of
 * mmap/munmap/mremap/brk, and fork/exec/exit. Nothing is streamed per event:
 * the ring buffer only carries exec (command line) and exit (final figures).
 *
 * Exactness: the kernel's mm counters are per-CPU counters whose `count` lags
 * by up to batch x CPUs pages. At every change we re-sum the changed counter
 * (count + every CPU's delta, as percpu_counter_sum() does), so current and
 * peak RSS are exact rather than approximate.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/abi.h"

char LICENSE[] SEC("license") = "GPL";

#define MT_MAX_CPUS 1024
#define MT_SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h */

/* Configured by userspace before load. */
const volatile __u32 cfg_trace_all = 0;       /* -a: every process */
const volatile __u32 cfg_follow_children = 0; /* --children */
const volatile __u32 cfg_nr_cpus = 1;         /* possible CPUs */
const volatile __u64 cfg_timeline_ns = 0;     /* --timeline: interval length, 0 = off */

struct mt_stats stats = {};

/* Processes to trace (tgid), unless cfg_trace_all. Forks add children. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* Figures per traced process, keyed by tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct mt_proc);
} procs SEC(".maps");

/* Which process owns an mm: rss_stat names the mm, not the task (at exit the
 * owner's counters drop in another context; /proc/PID/mem writers fault pages
 * into another process). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} mm_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/*
 * Per-CPU offsets (the kernel's per_cpu_offset(cpu)), to read each CPU's share
 * of a percpu_counter. The usual routes are closed here: the kernel's BTF has
 * no __percpu tags (so bpf_per_cpu_ptr() refuses percpu_counter.counters) and
 * kallsyms lists no data symbols (so this_cpu_off cannot be a ksym). A per-CPU
 * array map gives them instead: its raw __percpu pointer (bpf_array.pptrs[0])
 * versus the address bpf_map_lookup_percpu_elem() returns for each CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_probe SEC(".maps");

__u64 cpu_offsets[MT_MAX_CPUS] = {};
__u32 cpu_offsets_ready = 0;
/* The verifier forbids arithmetic on a map pointer; a round trip through map
 * memory (allowed to privileged programs) makes it a plain address. */
__u64 cpu_probe_addr = 0;

static __noinline int compute_cpu_offsets(void)
{
	__u64 base = 0;
	__u32 zero = 0;

	*(volatile __u64 *)&cpu_probe_addr = (__u64)&cpu_probe;
	__u64 array = *(volatile __u64 *)&cpu_probe_addr;
	if (bpf_probe_read_kernel(&base, sizeof(base),
				  (void *)(array + bpf_core_field_offset(struct bpf_array, pptrs))))
		return -1;
	for (__u32 cpu = 0; cpu < MT_MAX_CPUS; cpu++) {
		if (cpu >= cfg_nr_cpus)
			break;
		void *mine = bpf_map_lookup_percpu_elem(&cpu_probe, &zero, cpu);
		if (!mine)
			break;
		volatile __u64 *slot = &cpu_offsets[cpu];
		*slot = (__u64)mine; /* stored as a pointer, loaded back as a number */
		*slot = *slot - base;
	}
	cpu_offsets_ready = 1;
	return 0;
}

static const struct mt_proc mt_zero_proc;

static __always_inline __u64 positive(__s64 v)
{
	return v > 0 ? (__u64)v : 0;
}

/* Exact value of mm->rss_stat[member]: count plus every CPU's pending delta. */
static __noinline __s64 counter_exact(__u64 mm, __u32 member)
{
	if (member >= MT_NR_RSS)
		return 0;
	__u64 pc = mm + bpf_core_field_offset(struct mm_struct, rss_stat) +
		   member * bpf_core_type_size(struct percpu_counter);
	__s64 sum = 0;
	__u64 counters = 0;

	if (bpf_probe_read_kernel(&sum, sizeof(sum),
				  (void *)(pc + bpf_core_field_offset(struct percpu_counter, count))) ||
	    bpf_probe_read_kernel(&counters, sizeof(counters),
				  (void *)(pc + bpf_core_field_offset(struct percpu_counter, counters)))) {
		__sync_fetch_and_add(&stats.percpu_misses, 1);
		return 0;
	}
	if (!cpu_offsets_ready && compute_cpu_offsets()) {
		__sync_fetch_and_add(&stats.percpu_misses, 1);
		return sum;
	}
	for (__u32 cpu = 0; cpu < MT_MAX_CPUS; cpu++) {
		if (cpu >= cfg_nr_cpus)
			break;
		__s32 delta = 0;
		if (bpf_probe_read_kernel(&delta, sizeof(delta),
					  (void *)(counters + cpu_offsets[cpu]))) {
			__sync_fetch_and_add(&stats.percpu_misses, 1);
			continue;
		}
		sum += delta;
	}
	return sum;
}

static __always_inline __u64 rss_of(const struct mt_proc *p)
{
	return positive(p->pages[MT_RSS_FILE]) + positive(p->pages[MT_RSS_ANON]) +
	       positive(p->pages[MT_RSS_SHMEM]);
}

static __always_inline void update_peak(struct mt_proc *p)
{
	__u64 rss = rss_of(p);
	__u64 seen = p->peak_rss;

	/* Lock-free max: threads of one process update it from several CPUs. */
	for (int i = 0; i < 8 && rss > seen; i++) {
		__u64 prev = __sync_val_compare_and_swap(&p->peak_rss, seen, rss);
		if (prev == seen) {
			for (int m = 0; m < MT_NR_RSS; m++)
				p->peak_split[m] = positive(p->pages[m]);
			p->peak_ns = bpf_ktime_get_ns();
			return;
		}
		seen = prev;
	}
}

static __always_inline void update_peak_vm(struct mt_proc *p, __u64 vm)
{
	__u64 seen = p->peak_vm;

	for (int i = 0; i < 8 && vm > seen; i++) {
		__u64 prev = __sync_val_compare_and_swap(&p->peak_vm, seen, vm);
		if (prev == seen)
			return;
		seen = prev;
	}
}

/* For records nobody waits for (timeline points, call marks, stack copies):
 * waking memtrace for each costs the traced program ~30 us on a VM (an
 * interrupt to this CPU, then one to memtrace's). memtrace reads them at least
 * every MT_DRAIN_MS; it is woken early only once a quarter of the ring waits. */
static __always_inline __u64 lazy_wakeup(void *ring)
{
	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) > bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) / 4 ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
}

/* The timeline: per process, the highest and the last RSS of the current
 * interval; one point goes out when an interval ends (at most one per process
 * and interval with activity: never one per event). */
static __always_inline void timeline_point(__u32 tgid, __u64 slot, __u64 rss_end, __u64 rss_max)
{
	struct mt_rec_point *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);

	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return;
	}
	rec->hdr.type = MT_REC_POINT;
	rec->hdr.tgid = tgid;
	rec->hdr.ts_ns = (slot + 1) * cfg_timeline_ns;
	rec->rss_end = rss_end;
	rec->rss_max = rss_max;
	bpf_ringbuf_submit(rec, lazy_wakeup(&events));
}

static __always_inline void timeline_update(struct mt_proc *p, __u64 rss)
{
	__u64 slot = bpf_ktime_get_ns() / cfg_timeline_ns;

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

#include "functions.bpf.h"
#include "stacks.bpf.h"

static __always_inline void read_comm(struct mt_proc *p, struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	bpf_probe_read_kernel_str(p->comm, sizeof(p->comm), &leader->comm);
}

static __always_inline bool tgid_traced(__u32 tgid)
{
	return cfg_trace_all || bpf_map_lookup_elem(&targets, &tgid);
}

/*
 * Start the figures of process `tgid` whose address space is `mm`: a process
 * seen for the first time, or one that exec'd (new mm). Counters are seeded
 * exactly, so the event that led here is already included. MT_BEGIN_SHARED_MM
 * marks a vfork-style child that still shares its parent's mm.
 */
#define MT_BEGIN_SHARED_MM (1u << 31) /* proc_begin: the mm still belongs to the parent */

static __noinline struct mt_proc *proc_begin(__u32 tgid, __u32 ppid, struct task_struct *task,
					     __u64 mm, __u32 flags)
{
	bool own_mm = !(flags & MT_BEGIN_SHARED_MM);

	flags &= ~MT_BEGIN_SHARED_MM;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (p && p->mm == mm)
		return p;
	if (p) {
		/* exec: the figures so far belonged to the previous program. The
		 * exec'ing thread's open calls end now, measured against them (its
		 * other threads are gone already: exec ends them first). */
		__u64 current = bpf_get_current_pid_tgid();
		if (cfg_funcs && (current >> 32) == tgid)
			close_thread_calls(tgid, (__u32)current);
		__u64 old_mm = p->mm;
		__u32 *owner = bpf_map_lookup_elem(&mm_owner, &old_mm);
		if (owner && *owner == tgid)
			bpf_map_delete_elem(&mm_owner, &old_mm);
		ppid = p->ppid;
		flags |= p->flags & (MT_PROC_ATTACHED | MT_PROC_FORKED);
		if (cfg_funcs)
			bpf_map_delete_elem(&call_slots, &tgid); /* the old program's calls */
	}
	if (bpf_map_update_elem(&procs, &tgid, &mt_zero_proc, BPF_ANY)) {
		__sync_fetch_and_add(&stats.procs_full, 1);
		return NULL;
	}
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p)
		return NULL;

	p->tgid = tgid;
	p->ppid = ppid;
	p->mm = mm;
	p->flags = flags;
	p->start_ns = bpf_ktime_get_ns();
	for (__u32 m = 0; m < MT_NR_RSS; m++)
		p->pages[m] = counter_exact(mm, m);
	p->start_rss = rss_of(p);
	p->peak_rss = p->start_rss;
	for (int m = 0; m < MT_NR_RSS; m++)
		p->peak_split[m] = positive(p->pages[m]);
	p->peak_ns = p->start_ns;
	p->vm = BPF_CORE_READ((struct mm_struct *)mm, total_vm);
	p->peak_vm = p->vm;
	p->tl_last = p->start_rss;
	read_comm(p, task);

	if (own_mm && bpf_map_update_elem(&mm_owner, &mm, &tgid, BPF_ANY))
		__sync_fetch_and_add(&stats.mm_full, 1);
	return p;
}

SEC("tp_btf/rss_stat")
int BPF_PROG(mt_rss_stat, struct mm_struct *mm, int member)
{
	__u64 key = (__u64)mm;
	struct mt_proc *p = NULL;
	__u32 *owner = bpf_map_lookup_elem(&mm_owner, &key);

	if (!owner) {
		/* Unknown mm: the current task's own, if it is traced (first sight,
		 * or an exec in progress). Otherwise not ours. */
		struct task_struct *task = bpf_get_current_task_btf();
		if ((__u64)task->mm != key)
			return 0;
		__u32 tgid = task->tgid;
		if (!tgid_traced(tgid))
			return 0;
		/* Pages memtrace's held child touches in its first mm (a copy of
		 * memtrace's) are memtrace's code, not the command's: counted, reset
		 * at exec, never sampled. A later mm (its exec under way) is the
		 * command's. */
		__u8 *target = bpf_map_lookup_elem(&targets, &tgid);
		__u32 flags = 0;
		if (target && *target == MT_TARGET_HELD && !bpf_map_lookup_elem(&procs, &tgid))
			flags = MT_PROC_HELD;
		proc_begin(tgid, BPF_CORE_READ(task, real_parent, tgid), task, key, flags);
		return 0;
	}

	__u32 tgid = *owner;
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p || p->mm != key || (__u32)member >= MT_NR_RSS)
		return 0;

	__u32 m = (__u32)member;
	__s64 now = counter_exact(key, m);
	/* xchg: concurrent updates telescope, so increments are never counted twice */
	__s64 before = __sync_lock_test_and_set(&p->pages[m & (MT_NR_RSS - 1)], now);
	if (m != MT_RSS_SWAP && now > before) {
		__sync_fetch_and_add(&p->touched, (__u64)(now - before));
		/* pages this process's own thread brought in: its stack says why */
		if (cfg_stacks == MT_STACKS_TOUCH && !(p->flags & MT_PROC_HELD) &&
		    (bpf_get_current_pid_tgid() >> 32) == tgid)
			sample_growth(ctx, tgid, (__u64)(now - before) * cfg_page_size);
	}
	update_peak(p);
	if (cfg_timeline_ns)
		timeline_update(p, rss_of(p));
	if (cfg_funcs && p->active_calls) {
		__u64 rss = rss_of(p);
		if (rss > p->call_floor) {
			raise_call_peaks(tgid, rss);
			p->call_floor = rss;
		}
		close_left_calls(p, tgid);
	}
	__sync_fetch_and_add(&stats.rss_events, 1);
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
	__sync_fetch_and_add(&stats.fault_events, 1);
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
		if (cfg_stacks == MT_STACKS_MAP && !(p->flags & MT_PROC_HELD))
			sample_growth(ctx, tgid, (vm - before) * cfg_page_size);
	}
	else if (before > vm)
		__sync_fetch_and_add(&p->unmapped, before - vm);
	update_peak_vm(p, vm);
	__sync_fetch_and_add(&stats.vm_events, 1);
	return 0;
}

SEC("tp/syscalls/sys_exit_mmap")
int mt_exit_mmap(void *ctx)
{
	if (cfg_stacks) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		if (bpf_map_lookup_elem(&procs, &tgid))
			note_exec_mapping(tgid);
	}
	return vm_changed(ctx);
}

SEC("tp/syscalls/sys_exit_munmap")
int mt_exit_munmap(void *ctx)
{
	return vm_changed(ctx);
}

SEC("tp/syscalls/sys_exit_mremap")
int mt_exit_mremap(void *ctx)
{
	return vm_changed(ctx);
}

SEC("tp/syscalls/sys_exit_brk")
int mt_exit_brk(void *ctx)
{
	return vm_changed(ctx);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(mt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid;
	__u32 ctgid = child->tgid;

	if (ptgid == ctgid)
		return 0; /* a new thread: same process */
	if (!cfg_trace_all) {
		if (!cfg_follow_children || !bpf_map_lookup_elem(&targets, &ptgid))
			return 0;
		__u8 one = MT_TARGET;
		if (bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY)) {
			__sync_fetch_and_add(&stats.procs_full, 1);
			return 0;
		}
	}
	__u64 mm = (__u64)child->mm;
	if (!mm)
		return 0; /* kernel thread */
	__u32 flags = MT_PROC_FORKED;
	if (mm == (__u64)parent->mm)
		flags |= MT_BEGIN_SHARED_MM;
	proc_begin(ctgid, ptgid, child, mm, flags);
	__sync_fetch_and_add(&stats.forks, 1);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(mt_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid;

	if (!tgid_traced(tgid) && !bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	__u64 mm = (__u64)task->mm;
	if (!mm)
		return 0;
	if (cfg_funcs)
		close_thread_calls(tgid, task->pid); /* exec ends the calls of the old program */
	struct mt_proc *p = proc_begin(tgid, BPF_CORE_READ(task, real_parent, tgid), task, mm,
				       MT_PROC_EXECED);
	if (!p)
		return 0;
	p->flags = (p->flags & ~MT_PROC_HELD) | MT_PROC_EXECED;
	__u8 *target = bpf_map_lookup_elem(&targets, &tgid);
	if (target && *target == MT_TARGET_HELD)
		*target = MT_TARGET; /* the command runs: its stacks count */
	read_comm(p, task);
	__sync_fetch_and_add(&stats.execs, 1);
	new_code_gen(tgid); /* another program: not known yet */
	if (cfg_stacks && cfg_per_thread) {
		/* the thread frame is named after the program, not what it was before exec */
		__u32 tid = task->pid;
		struct mt_sample_state *st = bpf_map_lookup_elem(&sample_state, &tid);
		if (st)
			bpf_get_current_comm(st->comm, sizeof(st->comm));
	}

	struct mt_rec_exec *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	rec->hdr.type = MT_REC_EXEC;
	rec->hdr.tgid = tgid;
	rec->hdr.ts_ns = bpf_ktime_get_ns();
	rec->ppid = p->ppid;
	__builtin_memcpy(rec->comm, p->comm, sizeof(rec->comm));

	/* The new program's argv, as /proc/PID/cmdline shows it (NUL-separated). */
	__u64 arg_start = BPF_CORE_READ(task, mm, arg_start);
	__u64 arg_end = BPF_CORE_READ(task, mm, arg_end);
	__u64 len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > MT_ARGS_LEN)
		len = MT_ARGS_LEN;
	rec->args_len = 0;
	if (len && !bpf_probe_read_user(rec->args, len, (void *)arg_start))
		rec->args_len = len;
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(mt_exit, struct task_struct *task, bool group_dead)
{
	__u32 tgid = task->tgid;

	if (cfg_funcs)
		close_thread_calls(tgid, task->pid); /* a thread's open calls end with it */
	if (cfg_stacks && !cfg_per_thread) {
		__u32 tid = task->pid;
		bpf_map_delete_elem(&sample_state, &tid);
	}
	if (!group_dead)
		return 0;
	forget_code_gen(tgid);
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p)
		return 0;

	/* The tracepoint fires before exit_mm(): the address space is still whole,
	 * so the final counters are what the program had when it ended. */
	__u64 mm = (__u64)task->mm;
	if (mm && mm == p->mm) {
		for (__u32 m = 0; m < MT_NR_RSS; m++)
			p->pages[m] = counter_exact(mm, m);
		update_peak(p);
	}
	struct signal_struct *sig = task->signal;
	__s32 code = task->exit_code;
	if (BPF_CORE_READ(sig, flags) & MT_SIGNAL_GROUP_EXIT)
		code = BPF_CORE_READ(sig, group_exit_code);
	if (cfg_timeline_ns && p->tl_slot)
		timeline_point(tgid, p->tl_slot, rss_of(p), p->tl_max > rss_of(p) ? p->tl_max : rss_of(p));
	p->exit_code = code;
	p->exit_ns = bpf_ktime_get_ns();
	p->flags |= MT_PROC_EXITED;
	read_comm(p, task);
	__sync_fetch_and_add(&stats.exits, 1);

	struct mt_rec_exit *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		/* Kept in the map, marked exited: userspace reads it at the end. */
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	rec->hdr.type = MT_REC_EXIT;
	rec->hdr.tgid = tgid;
	rec->hdr.ts_ns = p->exit_ns;
	__builtin_memcpy(&rec->proc, p, sizeof(rec->proc));
	bpf_ringbuf_submit(rec, 0);

	if (cfg_funcs)
		bpf_map_delete_elem(&call_slots, &tgid);
	__u64 own = p->mm;
	__u32 *owner = bpf_map_lookup_elem(&mm_owner, &own);
	if (owner && *owner == tgid)
		bpf_map_delete_elem(&mm_owner, &own);
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&targets, &tgid);
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
	__u64 mm = (__u64)task->mm;
	if (!mm)
		return 0; /* kernel thread */
	__u32 tgid = task->tgid;
	if (!tgid_traced(tgid) || bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	proc_begin(tgid, BPF_CORE_READ(task, real_parent, tgid), task, mm, MT_PROC_ATTACHED);
	return 0;
}
