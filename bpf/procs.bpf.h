/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-process state: which processes are traced (`targets`), their figures
 * (`procs`, struct mt_proc), and which process owns an address space
 * (`mm_owner`).
 *
 * Exactness: the kernel's mm counters are per-CPU counters whose `count` lags
 * by up to batch x CPUs pages. At every change the changed counter is summed
 * again (count + every CPU's delta, as percpu_counter_sum() does), so current
 * and peak RSS are exact rather than approximate.
 */
#ifndef MEMTRACE_PROCS_BPF_H
#define MEMTRACE_PROCS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/abi.h"
#include "config.bpf.h"
#include "maps.bpf.h"
#include "stats.bpf.h"

#define MT_MAX_CPUS 1024
#define MT_SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h */

/* Processes to trace (tgid), unless mt_cfg.trace_all. Forks add children. */
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
		if (cpu >= mt_cfg.nr_cpus)
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
		MT_COUNT(percpu_misses);
		return 0;
	}
	if (!cpu_offsets_ready && compute_cpu_offsets()) {
		MT_COUNT(percpu_misses);
		return sum;
	}
	for (__u32 cpu = 0; cpu < MT_MAX_CPUS; cpu++) {
		if (cpu >= mt_cfg.nr_cpus)
			break;
		__s32 delta = 0;
		if (bpf_probe_read_kernel(&delta, sizeof(delta),
					  (void *)(counters + cpu_offsets[cpu]))) {
			MT_COUNT(percpu_misses);
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

/* The sum of the traced processes' RSS (pages) and its highest value, with
 * when: what they held at one moment (-a, --children). Every change of a
 * process's pages goes through pages_changed(); a process leaves the sum
 * when it ends (or execs: its previous program's pages go, the new one's come). */
__s64 mt_total_pages = 0;
__u64 mt_total_peak_pages = 0;
__u64 mt_total_peak_ns = 0;

static __always_inline void total_add(__s64 delta)
{
	if (!delta)
		return;
	__s64 now = __sync_add_and_fetch(&mt_total_pages, delta);
	if (now > 0 && atomic_max(&mt_total_peak_pages, (__u64)now))
		mt_total_peak_ns = bpf_ktime_get_ns();
}

/* In the sum: not ended, and not memtrace's held child (its copy of memtrace
 * until it execs the command). */
static __always_inline bool in_total(const struct mt_proc *p)
{
	return !(p->flags & (MT_PROC_EXITED | MT_PROC_HELD));
}

/* Set every counter of `p` exactly from `mm`, the sum following. */
static __always_inline void set_pages_exact(struct mt_proc *p, __u64 mm)
{
	__u64 before = rss_of(p);

	for (__u32 m = 0; m < MT_NR_RSS; m++)
		p->pages[m] = counter_exact(mm, m);
	if (in_total(p))
		total_add((__s64)rss_of(p) - (__s64)before);
}

/* Threads of one process update the peaks from several CPUs: lock-free max. */
static __always_inline void update_peak(struct mt_proc *p)
{
	if (atomic_max(&p->peak_rss, rss_of(p))) {
		for (int m = 0; m < MT_NR_RSS; m++)
			p->peak_split[m] = positive(p->pages[m]);
		p->peak_ns = bpf_ktime_get_ns();
	}
}

static __always_inline void update_peak_vm(struct mt_proc *p, __u64 vm)
{
	atomic_max(&p->peak_vm, vm);
}

static __always_inline void read_comm(struct mt_proc *p, struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	bpf_probe_read_kernel_str(p->comm, sizeof(p->comm), &leader->comm);
}

static __always_inline bool tgid_traced(__u32 tgid)
{
	return mt_cfg.trace_all || bpf_map_lookup_elem(&targets, &tgid);
}

static __always_inline void forget_mm_owner(__u64 mm, __u32 tgid)
{
	__u32 *owner = bpf_map_lookup_elem(&mm_owner, &mm);

	if (owner && *owner == tgid)
		bpf_map_delete_elem(&mm_owner, &mm);
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

	if (tgid == mt_cfg.self_tgid)
		return NULL;
	flags &= ~MT_BEGIN_SHARED_MM;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	__u64 touched_before = 0, mapped_before = 0;

	if (p && p->mm == mm)
		return p;
	if (p) {
		/* exec: the figures so far belonged to the previous program */
		forget_mm_owner(p->mm, tgid);
		/* memtrace's held child (its copy of memtrace) is not the command's */
		if (!(p->flags & MT_PROC_HELD)) {
			touched_before = p->touched_before_exec + p->touched;
			mapped_before = p->mapped_before_exec + p->mapped;
		}
		ppid = p->ppid;
		flags |= p->flags & (MT_PROC_ATTACHED | MT_PROC_FORKED);
		if (in_total(p)) /* (an exited one left the sum then) */
			total_add(-(__s64)rss_of(p));
	}
	if (bpf_map_update_elem(&procs, &tgid, &mt_zero_proc, BPF_ANY)) {
		MT_COUNT(procs_full);
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
	set_pages_exact(p, mm);
	p->start_rss = rss_of(p);
	p->peak_rss = p->start_rss;
	for (int m = 0; m < MT_NR_RSS; m++)
		p->peak_split[m] = positive(p->pages[m]);
	p->peak_ns = p->start_ns;
	p->vm = BPF_CORE_READ((struct mm_struct *)mm, total_vm);
	p->peak_vm = p->vm;
	p->tl_last = p->start_rss;
	p->touched_before_exec = touched_before;
	p->mapped_before_exec = mapped_before;
	read_comm(p, task);

	if (own_mm && bpf_map_update_elem(&mm_owner, &mm, &tgid, BPF_ANY))
		MT_COUNT(mm_full);
	return p;
}

/* The kernel's own high-water mark of `mm` (pages), as VmHWM and ru_maxrss
 * compute it (get_mm_hiwater_rss): the approximate counters (count only),
 * each read as at least 0, against mm->hiwater_rss. */
static __always_inline __u64 kernel_hwm_of(__u64 mm)
{
	struct mm_struct *m = (struct mm_struct *)mm;
	__u64 hwm = BPF_CORE_READ(m, hiwater_rss);
	__u64 rss = 0;

	for (__u32 i = 0; i < MT_NR_RSS; i++) {
		if (i == MT_RSS_SWAP)
			continue;
		__u64 pc = mm + bpf_core_field_offset(struct mm_struct, rss_stat) +
			   i * bpf_core_type_size(struct percpu_counter);
		__s64 count = 0;
		bpf_probe_read_kernel(&count, sizeof(count),
				      (void *)(pc + bpf_core_field_offset(struct percpu_counter, count)));
		rss += positive(count);
	}
	return rss > hwm ? rss : hwm;
}

/* Final figures of a process whose last thread exits. The exit tracepoint
 * fires before exit_mm(): the address space is still whole, so the counters
 * are what the program had when it ended. */
static __always_inline void proc_exit_figures(struct mt_proc *p, struct task_struct *task)
{
	__u64 mm = (__u64)BPF_CORE_READ(task, mm);

	if (mm && mm == p->mm) {
		set_pages_exact(p, mm);
		update_peak(p);
		p->kernel_hwm = kernel_hwm_of(mm);
	}
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	__s32 code = task->exit_code;
	if (BPF_CORE_READ(sig, flags) & MT_SIGNAL_GROUP_EXIT)
		code = BPF_CORE_READ(sig, group_exit_code);
	p->exit_code = code;
}

/* The process is gone and reported: its state goes. */
static __always_inline void proc_forget(struct mt_proc *p, __u32 tgid)
{
	forget_mm_owner(p->mm, tgid);
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&targets, &tgid);
}

#endif /* MEMTRACE_PROCS_BPF_H */
