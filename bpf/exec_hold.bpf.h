/* SPDX-License-Identifier: GPL-2.0 */
/*
 * -f patterns waiting for a program exec'd later (abi.h, mt_hold_name). The
 * exec handler stops a traced process that execs a file whose name a pattern
 * waits for, before the program's first instruction: SIGSTOP, sent to the
 * exec'ing process itself, is taken on its return to user mode. memtrace
 * attaches the probes, marks the file seen (later execs of it run on: the
 * probes are on the file) and sends SIGCONT. Only the first exec of each such
 * file stops, and only while memtrace holds (mt_holding: cleared at the end,
 * so nothing is stopped that no one would resume). Held processes are noted in
 * held_pids until memtrace resumes them; if memtrace dies first (SIGKILL, a
 * crash), mt_self_exit resumes them as its last thread exits.
 */
#ifndef MEMTRACE_EXEC_HOLD_BPF_H
#define MEMTRACE_EXEC_HOLD_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/abi.h"
#include "config.bpf.h"

#define MT_SIGSTOP 19
#define MT_SIGCONT 18

/* Processes stopped at exec and not yet resumed by memtrace (tgid -> 1). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} held_pids SEC(".maps");

/* Linux 6.13+ (memtrace loads mt_self_exit only where the kernel has them). */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type, __u64 value) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MT_HOLD_NAMES);
	__type(key, __u32);
	__type(value, struct mt_hold_name);
} hold_names SEC(".maps");

/* Files memtrace has examined: their execs are not stopped again. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mt_file_id);
	__type(value, __u8);
} hold_seen SEC(".maps");

/* Set by userspace once it reads the exec records (and cleared at the end). */
volatile __u32 mt_holding = 0;

static __always_inline void file_id_of(struct file *file, struct mt_file_id *id)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	id->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	id->ino = BPF_CORE_READ(inode, i_ino);
}

static __always_inline bool hold_name_matches(const char *name, __u32 len)
{
	for (__u32 i = 0; i < MT_HOLD_NAMES; i++) {
		__u32 key = i;
		struct mt_hold_name *h = bpf_map_lookup_elem(&hold_names, &key);
		if (!h || !h->used)
			continue;
		if (h->len == 0)
			return true; /* a bare pattern: any program may have it */
		if (h->len != len)
			continue;
		bool same = true;
		for (__u32 c = 0; c < MT_HOLD_NAME_LEN; c++) {
			if (c >= len)
				break;
			if (h->name[c] != name[c]) {
				same = false;
				break;
			}
		}
		if (same)
			return true;
	}
	return false;
}

/* At exec (current is `task`): stop it if its new program is one a pattern
 * waits for. True if stopped. */
static __always_inline bool hold_exec(struct task_struct *task)
{
	if (!mt_cfg.hold_execs || !mt_holding)
		return false;
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	if (!exe)
		return false;
	struct mt_file_id id = {};
	file_id_of(exe, &id);
	if (bpf_map_lookup_elem(&hold_seen, &id))
		return false;
	char name[MT_HOLD_NAME_LEN] = {};
	__u32 len = BPF_CORE_READ(exe, f_path.dentry, d_name.len);
	const unsigned char *text = BPF_CORE_READ(exe, f_path.dentry, d_name.name);
	if (len >= MT_HOLD_NAME_LEN)
		len = 0; /* only "any program" entries match such a name */
	else if (bpf_probe_read_kernel_str(name, sizeof(name), text) < 0)
		return false;
	if (!hold_name_matches(name, len))
		return false;
	__u32 tgid = BPF_CORE_READ(task, tgid);
	const __u8 one = 1;
	/* noted first: once stopped, a process no one would resume must be found */
	if (bpf_map_update_elem(&held_pids, &tgid, &one, BPF_ANY))
		return false;
	if (bpf_send_signal(MT_SIGSTOP) == 0)
		return true;
	bpf_map_delete_elem(&held_pids, &tgid);
	return false;
}

static long resume_held(struct bpf_map *map, __u32 *tgid, __u8 *value, void *ctx)
{
	struct task_struct *t = bpf_task_from_pid((s32)*tgid);

	if (t) {
		bpf_send_signal_task(t, MT_SIGCONT, PIDTYPE_TGID, 0);
		bpf_task_release(t);
	}
	return 0;
}

/* memtrace's last thread exits (its links still attached: the file table is
 * closed after this tracepoint): resume what it held and can no longer. */
static __always_inline void resume_all_held(void)
{
	bpf_for_each_map_elem(&held_pids, resume_held, NULL, 0);
}

#endif /* MEMTRACE_EXEC_HOLD_BPF_H */
