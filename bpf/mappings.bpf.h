/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Executable file mappings read from the kernel's vmas as they are made
 * (--folded; abi.h, mt_rec_mapping), as perf's PERF_RECORD_MMAP2 does: a
 * process that ends within milliseconds (as, ranlib) is gone before memtrace
 * could read /proc/PID/maps, and a library mapped and unmapped between two
 * reads was never seen. bpf_d_path is refused on tracepoints, so the path is
 * the dentry chain, crossing mounts, up to the root; with the file's dev and
 * inode userspace checks it opened the same file.
 */
#ifndef MEMTRACE_MAPPINGS_BPF_H
#define MEMTRACE_MAPPINGS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "memtrace/abi.h"
#include "config.bpf.h"
#include "exec_hold.bpf.h"
#include "records.bpf.h"

#define MT_PATH_DEPTH 32
#define MT_VM_EXEC 0x4

/* One step of the path walk: a name, or a mount crossed. The length so far
 * and the flags are kept in the record (ring buffer memory, which the
 * verifier does not follow), so it checks this step a few times instead of
 * once per step the walk could take (32, unrolled, in each program). */
struct path_walk {
	struct mt_rec_mapping *rec;
	struct dentry *d;
	struct mount *mnt;
	__u64 vfsmnt;
	__u64 mnt_off;
	__u32 ended; /* reached the root, or stopped: not cut by the walk's depth */
};

static long path_step(__u32 index, void *ctx)
{
	struct path_walk *w = ctx;
	struct mt_rec_mapping *rec = w->rec;
	/* locals: BPF_CORE_READ relocates every field access in its argument */
	struct dentry *d = w->d;
	struct mount *mnt = w->mnt;
	struct vfsmount *vfsmnt = (struct vfsmount *)w->vfsmnt;
	struct dentry *root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);

	if (d == root || d == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
		if (d != root || up == mnt) {
			w->ended = 1; /* the root */
			return 1;
		}
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint); /* on to the mount point */
		w->mnt = up;
		w->vfsmnt = (__u64)up + w->mnt_off;
		return 0;
	}
	__u32 off = rec->path_len;
	if (off >= MT_MAP_PATH) {
		rec->flags |= MT_MAP_PATH_CUT;
		w->ended = 1;
		return 1;
	}
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	long n = bpf_probe_read_kernel_str(rec->path + (off & (MT_MAP_PATH - 1)), MT_MAP_PATH, name);
	if (n <= 0) {
		w->ended = 1;
		return 1;
	}
	rec->path_len = off + (__u32)n;
	w->d = parent;
	return 0;
}

/* The file's path into rec->path as names leaf first, each NUL-terminated;
 * its length in rec->path_len. */
static __always_inline void read_path(struct file *file, struct mt_rec_mapping *rec)
{
	__u64 mnt_off = bpf_core_field_offset(struct mount, mnt);
	__u64 vfsmnt = (__u64)BPF_CORE_READ(file, f_path.mnt);
	struct path_walk w = {
		.rec = rec,
		.d = BPF_CORE_READ(file, f_path.dentry),
		.mnt = (struct mount *)(vfsmnt - mnt_off),
		.vfsmnt = vfsmnt,
		.mnt_off = mnt_off,
	};

	rec->path_len = 0;
	bpf_loop(MT_PATH_DEPTH, path_step, &w, 0);
	if (!w.ended)
		rec->flags |= MT_MAP_PATH_CUT; /* deeper than the walk goes */
}

struct mapping_ctx {
	__u32 tgid;
	__u32 sent;
};

static long send_mapping_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct mapping_ctx *ctx = data;
	struct file *file = vma->vm_file;

	if (!file || !(vma->vm_flags & MT_VM_EXEC))
		return 0;
	struct mt_rec_mapping *rec =
		record_reserve(sizeof(*rec), MT_REC_MAPPING, ctx->tgid, bpf_ktime_get_ns());
	if (!rec)
		return 0;
	rec->start = vma->vm_start;
	rec->end = vma->vm_end;
	rec->pgoff = (__u64)vma->vm_pgoff * mt_cfg.page_size;
	file_id_of(file, &rec->file);
	rec->flags = 0;
	read_path(file, rec);
	bpf_ringbuf_submit(rec, lazy_wakeup(&events));
	ctx->sent = 1;
	return 0;
}

/* The executable file mapping at `addr` of `task` (current, or exec'ing) as
 * a record; false if none was sent (no such mapping, or the mm was busy). */
/* The current task's executable mapping at `addr`, sent as a record; 1 if
 * sent. A global function: the verifier checks it (and the path walk of its
 * callback) once per program, not again at each call and along each path
 * that leads there (mt_exec calls it twice). */
__noinline int send_mapping(__u32 tgid, __u64 addr)
{
	struct mapping_ctx ctx = {.tgid = tgid};

	if (bpf_find_vma(bpf_get_current_task_btf(), addr, send_mapping_cb, &ctx, 0))
		return 0;
	return ctx.sent;
}

/* At exec: the program's text and the interpreter's (where the task will
 * start: ld.so), which the kernel mapped without an mmap call. */
static __always_inline void send_exec_mappings(struct task_struct *task, __u32 tgid)
{
	__u64 code = BPF_CORE_READ(task, mm, start_code);
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 ip = regs ? BPF_CORE_READ(regs, ip) : 0;

	send_mapping(tgid, code); /* at exec: the task is the current one */
	if (ip && (ip < code || ip >= BPF_CORE_READ(task, mm, end_code)))
		send_mapping(tgid, ip);
}

#endif /* MEMTRACE_MAPPINGS_BPF_H */
