/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Python frames (CPython 3.11-3.13), read at each stack sample of a process
 * userspace registered in py_procs: the sampled thread's PyThreadState (found
 * by its pthread_t in the interpreter's thread list, the GIL holder first), then its chain of _PyInterpreterFrame, innermost first: code object
 * and instruction per frame. Each code object's names and line table are
 * copied into py_codes the first time it is seen, so frames are named after
 * the process is gone. All offsets come from userspace, per version.
 */
#ifndef MEMTRACE_PYTHON_BPF_H
#define MEMTRACE_PYTHON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memtrace/abi.h"
#include "stats.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, struct mt_py_proc);
} py_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, struct mt_py_code_key);
	__type(value, struct mt_py_code);
} py_codes SEC(".maps");

/* A code object being copied: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_py_code);
} py_code_scratch SEC(".maps");

static __always_inline __u64 py_read_ptr(__u64 addr)
{
	__u64 value = 0;

	if (bpf_probe_read_user(&value, sizeof(value), (const void *)addr))
		return 0;
	return value;
}

/* The thread list walk, one step per bpf_loop() call (verified once). */
struct py_thread_search {
	const struct mt_py_proc *py;
	__u64 ts;     /* the thread state looked at; then the one found, or 0 */
	__u64 thread; /* the sampled thread's pthread_t (its fs base) */
	__u64 found;
};

static long py_thread_step(__u32 index, void *ctx)
{
	struct py_thread_search *s = ctx;

	if (!s->ts)
		return 1;
	if (py_read_ptr(s->ts + s->py->ts_thread_id) == s->thread) {
		s->found = s->ts;
		return 1;
	}
	s->ts = py_read_ptr(s->ts + s->py->ts_next);
	return 0;
}

/* The sampled thread's PyThreadState, found by its pthread_t (thread_id: the
 * thread's fs base, the same inside a container): the GIL holder first (3.11
 * keeps it in the runtime), else in the main interpreter's list. */
static __always_inline __u64 py_thread_state(const struct mt_py_proc *py)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct py_thread_search s = {.py = py, .thread = BPF_CORE_READ(task, thread.fsbase)};

	if (py->rt_tstate_current != MT_PY_NONE) {
		__u64 ts = py_read_ptr(py->runtime + py->rt_tstate_current);
		if (ts && py_read_ptr(ts + py->ts_thread_id) == s.thread)
			return ts;
	}
	__u64 interp = py_read_ptr(py->runtime + py->rt_interp_head);
	if (!interp)
		return 0;
	s.ts = py_read_ptr(interp + py->is_threads_head);
	bpf_loop(MT_PY_THREADS, py_thread_step, &s, 0);
	return s.found;
}

/* A str's text as CPython stores it (compact objects only: what code names
 * are). `*kind` 0 if it could not be read. */
static __always_inline void py_read_str(const struct mt_py_proc *py, __u64 str, char *dst, __u32 size,
					__u32 *len, __u8 *kind)
{
	__u32 state = 0;
	__u64 length = 0;

	*kind = 0;
	*len = 0;
	if (!str || bpf_probe_read_user(&state, sizeof(state), (const void *)(str + 32)) ||
	    bpf_probe_read_user(&length, sizeof(length), (const void *)(str + 16)))
		return;
	if (!(state & 0x20)) /* not compact */
		return;
	__u8 k = (state >> 2) & 7;
	__u64 data = str + ((state & 0x40) ? py->str_ascii_data : py->str_compact_data);
	__u64 bytes = length * k;
	if (bytes > size)
		bytes = size;
	if (k != 1 && k != 2 && k != 4)
		return;
	if (bytes && bpf_probe_read_user(dst, (__u32)bytes, (const void *)data))
		return;
	*len = (__u32)(bytes / k);
	*kind = k;
}

/* A code object's filename, name, qualname and line table: four pointers in
 * a row in every supported version (userspace checks the layout). */
struct py_code_refs {
	__u64 filename, name, qualname, linetable;
};

static __always_inline __u64 py_names_key(const struct py_code_refs *r)
{
	return r->filename ^ (r->qualname << 21 | r->qualname >> 43) ^
	       (r->linetable << 42 | r->linetable >> 22);
}

/* Copies a code object's names and line table into py_codes, once. */
static __noinline void py_note_code(const struct mt_py_proc *py, __u32 tgid, __u64 code,
				    const struct py_code_refs *refs, __u64 names)
{
	struct mt_py_code_key key = {.tgid = tgid, .code = code, .names = names};
	__u32 zero = 0;

	if (!refs || bpf_map_lookup_elem(&py_codes, &key))
		return;
	struct mt_py_code *c = bpf_map_lookup_elem(&py_code_scratch, &zero);
	if (!c)
		return;
	py_read_str(py, refs->qualname, c->qualname, MT_PY_NAME, &c->qualname_len, &c->qualname_kind);
	py_read_str(py, refs->filename, c->filename, MT_PY_FILE, &c->filename_len, &c->filename_kind);
	c->firstlineno = 0;
	bpf_probe_read_user(&c->firstlineno, sizeof(c->firstlineno),
			    (const void *)(code + py->co_firstlineno));
	c->linetable_len = 0;
	__u64 table = refs->linetable; /* a bytes object */
	__u64 size = table ? py_read_ptr(table + 16) : 0;
	if (size > MT_PY_LINETABLE)
		size = MT_PY_LINETABLE;
	if (size && !bpf_probe_read_user(c->linetable, (__u32)size, (const void *)(table + 32)))
		c->linetable_len = (__u32)size;
	if (bpf_map_update_elem(&py_codes, &key, c, BPF_NOEXIST) == -7 /* E2BIG: full */)
		MT_COUNT(py_codes_full);
}

/* The frame chain walk, one frame per bpf_loop() call. The frames found so
 * far are counted in rec->py_count, a map value's field, not here: a count on
 * the stack is a known constant at each step, so the verifier, which checks a
 * bpf_loop callback until its states converge, would check it once per
 * possible count (MT_PY_FRAMES * 2 times). */
struct py_frame_walk {
	const struct mt_py_proc *py;
	struct mt_rec_stack *rec;
	__u64 frame;
	__u32 tgid;
};

static long py_frame_step(__u32 index, void *ctx)
{
	struct py_frame_walk *w = ctx;
	const struct mt_py_proc *py = w->py;
	struct mt_rec_stack *rec = w->rec;
	__u8 owner = 0, is_entry = 0;

	if (!w->frame)
		return 1;
	bpf_probe_read_user(&owner, 1, (const void *)(w->frame + py->fr_owner));
	__u64 previous = py_read_ptr(w->frame + py->fr_previous);
	if (owner == MT_PY_OWNED_BY_CSTACK) {
		/* 3.12+: the shim below a _PyEval_EvalFrameDefault call */
		__u32 found = rec->py_count, last = found - 1;
		if (found > 0 && last < MT_PY_FRAMES)
			rec->py[last].flags |= MT_PY_ENTRY;
		w->frame = previous;
		return 0;
	}
	__u32 n = rec->py_count;
	if (n >= MT_PY_FRAMES) {
		rec->py_status |= MT_PY_TRUNCATED;
		return 1;
	}
	__u64 code = py_read_ptr(w->frame + py->fr_code);
	if (!code) {
		rec->py_status |= MT_PY_READ_FAILED;
		return 1;
	}
	__u64 instr = py_read_ptr(w->frame + py->fr_instr);
	if (py->fr_is_entry != MT_PY_NONE)
		bpf_probe_read_user(&is_entry, 1, (const void *)(w->frame + py->fr_is_entry));
	struct py_code_refs refs = {};
	if (bpf_probe_read_user(&refs, sizeof(refs), (const void *)(code + py->co_filename))) {
		rec->py_status |= MT_PY_READ_FAILED;
		return 1;
	}
	__u64 names = py_names_key(&refs);
	__u64 start = code + py->co_code;
	rec->py[n].code = code;
	rec->py[n].names = names;
	rec->py[n].instr = instr >= start && instr - start < 0xffffffff ? (__u32)(instr - start) : 0xffffffff;
	rec->py[n].flags = is_entry ? MT_PY_ENTRY : 0;
	py_note_code(py, w->tgid, code, &refs, names);
	rec->py_count = n + 1;
	w->frame = previous;
	return 0;
}

/* Fills rec->py with the sampled thread's Python frames, innermost first. */
static __always_inline void py_frames(struct mt_rec_stack *rec, __u32 tgid)
{
	rec->py_count = 0;
	rec->py_status = 0;
	const struct mt_py_proc *py = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!py)
		return;
	__u64 ts = py_thread_state(py);
	if (!ts) {
		rec->py_status = MT_PY_NO_THREAD;
		return;
	}
	struct py_frame_walk w = {.py = py, .rec = rec, .tgid = tgid};
	if (py->ts_cframe != MT_PY_NONE) {
		__u64 cframe = py_read_ptr(ts + py->ts_cframe);
		w.frame = cframe ? py_read_ptr(cframe + py->current_frame) : 0;
	} else {
		w.frame = py_read_ptr(ts + py->current_frame);
	}
	bpf_loop(MT_PY_FRAMES * 2, py_frame_step, &w, 0);
	if (rec->py_count)
		MT_COUNT(py_stacks);
}

static __always_inline bool py_registered(__u32 tgid)
{
	return bpf_map_lookup_elem(&py_procs, &tgid) != NULL;
}

#endif /* MEMTRACE_PYTHON_BPF_H */
