/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stacks for flame graphs (--folded), sampled by bytes. A stack costs ~5-9 us
 * to take here (design.md section 2), a page fault ~12 us: so stacks are taken
 * once per cfg_sample_bytes of growth per thread, never per fault, and weighted
 * by the bytes they stand for. User stacks are kept as (build-id, file offset)
 * frames, so they can be named after the process has exited.
 * Included by memtrace.bpf.c after the process state.
 */
#ifndef MEMTRACE_STACKS_BPF_H
#define MEMTRACE_STACKS_BPF_H

const volatile __u32 cfg_stacks = MT_STACKS_NONE;
const volatile __u64 cfg_sample_bytes = 512 * 1024;
const volatile __u32 cfg_kernel_stacks = 0;
const volatile __u32 cfg_per_thread = 0;
const volatile __u64 cfg_page_size = 4096;

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
static __always_inline void note_exec_mapping(__u32 tgid)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *prot = bpf_map_lookup_elem(&mmap_prot, &tid);

	if (!prot)
		return;
	bool exec = *prot & MT_PROT_EXEC;
	bpf_map_delete_elem(&mmap_prot, &tid);
	if (!exec)
		return;
	struct mt_rec_hdr *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return;
	}
	rec->type = MT_REC_EXEC_MAP;
	rec->tgid = tgid;
	rec->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(rec, 0);
}

/* `bytes` of growth by the current thread of `tgid`: take its stack once
 * enough has accumulated. `ctx` is the program's context, for the stack. */
static __always_inline void sample_growth(void *ctx, __u32 tgid, __u64 bytes)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mt_sample_state *st = bpf_map_lookup_elem(&sample_state, &tid);

	if (!st) {
		bpf_map_update_elem(&sample_state, &tid, &mt_zero_sample, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&sample_state, &tid);
		if (!st)
			return;
		if (cfg_per_thread)
			bpf_get_current_comm(st->comm, sizeof(st->comm));
	}
	__u64 pending = st->pending + bytes;
	if (pending < cfg_sample_bytes) {
		st->pending = pending;
		return;
	}
	__u64 weight = pending - pending % cfg_sample_bytes;
	st->pending = pending - weight;

	struct mt_stack_key key = {
		.tgid = tgid,
		.tid = cfg_per_thread ? tid : 0,
		.user_stack = MT_STACK_LOST,
		.kernel_stack = MT_STACK_LOST,
	};
	long id = bpf_get_stackid(ctx, &user_stacks, BPF_F_USER_STACK);
	if (id >= 0)
		key.user_stack = (__s32)id;
	else
		__sync_fetch_and_add(&stats.user_stacks_lost, 1);
	if (cfg_kernel_stacks) {
		id = bpf_get_stackid(ctx, &kernel_stacks, 0);
		if (id >= 0)
			key.kernel_stack = (__s32)id;
		else
			__sync_fetch_and_add(&stats.kernel_stacks_lost, 1);
	}
	__sync_fetch_and_add(&stats.stack_samples, 1);

	__u64 *total = bpf_map_lookup_elem(&stack_bytes, &key);
	if (!total) {
		__u64 zero = 0;
		bpf_map_update_elem(&stack_bytes, &key, &zero, BPF_NOEXIST);
		total = bpf_map_lookup_elem(&stack_bytes, &key);
		if (!total) {
			__sync_fetch_and_add(&stats.stack_bytes_full, 1);
			return;
		}
	}
	__sync_fetch_and_add(total, weight);
}

SEC("tp/syscalls/sys_enter_mmap")
int mt_enter_mmap(struct trace_event_raw_sys_enter *ctx)
{
	if (!cfg_stacks)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	if (!bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	__u64 prot = ctx->args[2];
	bpf_map_update_elem(&mmap_prot, &tid, &prot, BPF_ANY);
	return 0;
}

#endif /* MEMTRACE_STACKS_BPF_H */
