/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Python function calls (-f py:PATTERN), CPython 3.11-3.13, from outside.
 *
 * Python-to-Python calls do not recurse in C from 3.11 on, and a uprobe per
 * Python call would cost more than the call; but the figures of a call only
 * change when RSS does. So at every rss_stat event in a thread of a registered
 * Python process (program mt_py_calls, run before mt_rss_stat updates the
 * counters) the thread's frame chain is compared with its open calls:
 * - a call whose frame (address and code object) is no longer on the chain
 *   has ended: closed with the RSS before this event;
 * - a target frame new on the chain begins: base = the RSS before this event;
 * - mt_rss_stat then raises the peaks of all open calls (call slots), so a
 *   call's peak includes what other threads brought in.
 * Exact for one thread, given what can be seen: a call during which RSS never
 * changed is not seen, and a call that returned and was entered again at the
 * same frame address between two changes looks like one call.
 *
 * Cost: nothing to walk when the innermost frame and its code are those of the
 * last event; else the chain is read innermost first and the walk stops at the
 * first open call found (the calls outside it are still open). Whether a code
 * object is a target is decided once per (process, code, names) by glob-matching
 * its qualname and MODULE.QUALNAME against the patterns userspace compiled.
 */
#ifndef MEMTRACE_PYTHON_CALLS_BPF_H
#define MEMTRACE_PYTHON_CALLS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/abi.h"
#include "config.bpf.h"
#include "functions.bpf.h"
#include "procs.bpf.h"
#include "python.bpf.h"
#include "stats.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MT_PY_PATTERNS);
	__type(key, __u32);
	__type(value, struct mt_py_pattern);
} py_patterns SEC(".maps");

/* Per (process, code object, names): its function id, or MT_PY_NOT_TARGET. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct mt_py_code_key);
	__type(value, __u32);
} py_targets SEC(".maps");

/* Function id -> its code object (names in py_codes): for userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MT_PY_FUNCS);
	__type(key, __u32);
	__type(value, struct mt_py_code_key);
} py_funcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct mt_py_thread);
} py_threads SEC(".maps");

__u32 py_func_count = 0;

/* A code object's names as matched: text[0] its qualname, text[1]
 * MODULE.QUALNAME (MODULE: the file's name without ".py"). */
#define MT_PY_TEXT 256
struct py_names_scratch {
	char file[MT_PY_TEXT];
	char text[2][2 * MT_PY_TEXT]; /* room for any masked offset + length */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_names_scratch);
} py_names_scratch SEC(".maps");

static const struct mt_py_thread mt_zero_py_thread;

/* The changing state of the loops below lives here, not on the stack: the
 * verifier tracks no value in map memory, so each loop's step is verified
 * once rather than once per value its counters take (seconds at load). */
struct py_glob_state {
	__u32 n, p, s, star, mark, matched;
};
#define MT_PY_NEW 8
#define MT_PY_OWNED_BY_GENERATOR 1
struct py_walk_state {
	__u64 frame;
	__u64 frame_first; /* the innermost frame */
	__u32 tgid;
	__s32 open;  /* index of the open call found on the chain, or -1 */
	__u32 ended; /* the chain's end was reached */
	__u32 found; /* target frames seen before it */
	__s32 anchor; /* an anchor met: the open calls at or outside it, or -1 */
	__u32 steps;  /* frames recorded as the next walk's anchors */
	__u64 a_frame[MT_PY_ANCHORS];
	__u64 a_code[MT_PY_ANCHORS];
	__u32 a_found[MT_PY_ANCHORS]; /* target entries inside each */
	__u64 new_frame[MT_PY_NEW];
	__u64 new_code[MT_PY_NEW];
	__u64 new_caller[MT_PY_NEW];
	__u32 new_func[MT_PY_NEW];
};
struct py_scratch {
	struct py_glob_state glob;
	__u32 base_len, base_start; /* the file name's last component */
	__u32 len[2];               /* of the two texts matched */
	__u32 matched;
	__u32 pad;
	struct py_walk_state walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch);
} py_scratch SEC(".maps");

static __always_inline struct py_scratch *py_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&py_scratch, &zero);
}

/* One step of a glob match (fnmatch without flags: '*' and '?' match any
 * byte), with one backtracking point: the last '*'. */
struct py_glob_ctx {
	const struct mt_py_pattern *pat;
	const char *text;
};

static long py_glob_step(__u32 index, void *ctx)
{
	struct py_glob_ctx *x = ctx;
	struct py_scratch *sc = py_scratch_get();
	if (!sc)
		return 1;
	struct py_glob_state *g = &sc->glob;
	const struct mt_py_pattern *pat = x->pat;
	__u32 m = pat->len, p = g->p;

	if (g->s >= g->n) {
		/* the text is consumed: what is left of the pattern must be stars */
		if (p >= m) {
			g->matched = 1;
			return 1;
		}
		if (pat->op[p & (MT_PY_PATTERN_LEN - 1)] != MT_GLOB_STAR)
			return 1;
		g->p = p + 1;
		return 0;
	}
	__u8 c = x->text[g->s & (MT_PY_TEXT - 1)];
	if (p < m) {
		__u8 op = pat->op[p & (MT_PY_PATTERN_LEN - 1)];
		__u8 arg = pat->arg[p & (MT_PY_PATTERN_LEN - 1)];
		if (op == MT_GLOB_STAR) {
			g->star = p;
			g->mark = g->s;
			g->p = p + 1;
			return 0;
		}
		bool one = op == MT_GLOB_ANY || (op == MT_GLOB_CHAR && arg == c) ||
			   (op == MT_GLOB_CLASS &&
			    ((pat->sets[arg & (MT_PY_CLASSES - 1)][c >> 3] >> (c & 7)) & 1));
		if (one) {
			g->p = p + 1;
			g->s++;
			return 0;
		}
	}
	if (g->star == MT_PY_NOT_TARGET)
		return 1;
	/* the last star takes one more byte */
	g->p = g->star + 1;
	g->mark++;
	g->s = g->mark;
	return 0;
}

static __always_inline bool py_glob(struct py_scratch *sc, const struct mt_py_pattern *pat,
				    const char *text, __u32 n)
{
	struct py_glob_ctx x = {.pat = pat, .text = text};
	struct py_glob_state *g = &sc->glob;

	g->n = n;
	g->p = g->s = g->mark = g->matched = 0;
	g->star = MT_PY_NOT_TARGET;
	bpf_loop(1 << 16, py_glob_step, &x, 0);
	return g->matched;
}

/* Where a file name's last component starts (a loop of its own: in line,
 * each byte's two outcomes multiply the verifier's states). */
static long py_basename_step(__u32 i, void *ctx)
{
	const char *file = *(const char **)ctx;
	struct py_scratch *sc = py_scratch_get();

	if (!sc || i >= sc->base_len)
		return 1;
	if (file[i & (MT_PY_TEXT - 1)] == '/')
		sc->base_start = i + 1;
	return 0;
}

/* Fills s->text[0] (qualname) and s->text[1] (MODULE.QUALNAME); their lengths
 * in len[] (0: none). Only Latin-1 names (kind 1) are matched. */
static __always_inline void py_match_texts(const struct mt_py_proc *py, const struct py_code_refs *refs,
					   struct py_names_scratch *s, struct py_scratch *sc)
{
	__u32 *len = sc->len;
	__u32 qlen = 0, flen = 0;
	__u8 qkind = 0, fkind = 0;

	len[0] = len[1] = 0;
	py_read_str(py, refs->qualname, s->text[0], MT_PY_TEXT - 1, &qlen, &qkind);
	if (qkind != 1 || qlen == 0 || qlen >= MT_PY_TEXT)
		return;
	len[0] = qlen;
	py_read_str(py, refs->filename, s->file, MT_PY_TEXT - 1, &flen, &fkind);
	if (fkind != 1 || flen == 0 || flen >= MT_PY_TEXT || s->file[0] == '<')
		return;
	const char *file = s->file;
	sc->base_len = flen;
	sc->base_start = 0;
	bpf_loop(MT_PY_TEXT, py_basename_step, &file, 0);
	__u32 start = sc->base_start & (MT_PY_TEXT - 1);
	__u32 end = flen;
	if (end >= start + 3 && s->file[(end - 3) & (MT_PY_TEXT - 1)] == '.' &&
	    s->file[(end - 2) & (MT_PY_TEXT - 1)] == 'p' && s->file[(end - 1) & (MT_PY_TEXT - 1)] == 'y')
		end -= 3;
	__u32 mlen = end > start ? end - start : 0;
	if (mlen == 0 || mlen + 1 + qlen >= MT_PY_TEXT)
		return;
	/* masked where the verifier sees it: the compiler knows they are < 256
	 * and would drop a plain mask */
	__u64 msize = mlen, qsize = qlen, at = mlen + 1;
	asm volatile("%0 &= 255" : "+r"(msize));
	asm volatile("%0 &= 255" : "+r"(qsize));
	asm volatile("%0 &= 255" : "+r"(at));
	if (bpf_probe_read_kernel(s->text[1], msize, s->file + (start & (MT_PY_TEXT - 1))))
		return;
	s->text[1][msize] = '.';
	if (bpf_probe_read_kernel(s->text[1] + at, qsize, s->text[0]))
		return;
	len[1] = mlen + 1 + qlen;
}

/* One pattern per bpf_loop() step against both texts. */
static long py_pattern_step(__u32 i, void *ctx)
{
	const struct py_names_scratch *s = *(const struct py_names_scratch **)ctx;
	struct py_scratch *sc = py_scratch_get();

	if (!sc || i >= mt_cfg.py_patterns)
		return 1;
	const struct mt_py_pattern *pat = bpf_map_lookup_elem(&py_patterns, &i);
	if (!pat)
		return 1;
	__u32 len1 = sc->len[1];
	if (py_glob(sc, pat, s->text[0], sc->len[0]) || (len1 && py_glob(sc, pat, s->text[1], len1))) {
		sc->matched = 1;
		return 1;
	}
	return 0;
}

/* Whether any pattern names this code object. */
static __noinline bool py_code_matches(const struct mt_py_proc *py, const struct py_code_refs *refs)
{
	__u32 zero = 0;
	struct py_names_scratch *s = bpf_map_lookup_elem(&py_names_scratch, &zero);

	struct py_scratch *sc = py_scratch_get();
	if (!s || !sc)
		return false;
	py_match_texts(py, refs, s, sc);
	if (!sc->len[0])
		return false;
	sc->matched = 0;
	const struct py_names_scratch *names = s;
	bpf_loop(MT_PY_PATTERNS, py_pattern_step, &names, 0);
	return sc->matched;
}

/* The function id of a code object, or MT_PY_NOT_TARGET: decided at its first
 * sight in the process, then cached. A target's names go to py_codes. */
static __noinline __u32 py_target_of(const struct mt_py_proc *py, __u32 tgid, __u64 code,
				     const struct py_code_refs *refs, __u64 names)
{
	struct mt_py_code_key key = {.tgid = tgid, .code = code, .names = names};
	__u32 *known = bpf_map_lookup_elem(&py_targets, &key);

	if (known)
		return *known;
	__u32 func = MT_PY_NOT_TARGET;
	if (refs && py_code_matches(py, refs)) {
		__u32 n = __sync_fetch_and_add(&py_func_count, 1);
		if (n < MT_PY_FUNCS) {
			func = mt_cfg.py_func_base + n;
			py_note_code(py, tgid, code, refs, names);
		} else {
			MT_COUNT(py_funcs_full);
		}
	}
	if (bpf_map_update_elem(&py_targets, &key, &func, BPF_NOEXIST)) {
		/* another thread decided first (its id stands), or the map is full */
		known = bpf_map_lookup_elem(&py_targets, &key);
		return known ? *known : func;
	}
	if (func != MT_PY_NOT_TARGET && bpf_map_update_elem(&py_funcs, &func, &key, BPF_NOEXIST))
		MT_COUNT(py_funcs_full);
	return func;
}

/* The chain walk, one frame per bpf_loop() step, innermost first: stops at
 * the first frame that is an open call, noting the target frames before it
 * (the last MT_PY_NEW of them: the outermost). */
struct py_call_walk {
	const struct mt_py_proc *py;
	struct mt_py_thread *t;
};

static long py_call_step(__u32 index, void *ctx)
{
	struct py_call_walk *x = ctx;
	const struct mt_py_proc *py = x->py;
	struct mt_py_thread *t = x->t;
	struct py_scratch *sc = py_scratch_get();
	__u8 owner = 0;

	if (!sc)
		return 1;
	struct py_walk_state *w = &sc->walk;

	if (!w->frame) {
		w->ended = 1;
		return 1;
	}
	bpf_probe_read_user(&owner, 1, (const void *)(w->frame + py->fr_owner));
	__u64 previous = py_read_ptr(w->frame + py->fr_previous);
	if (owner == MT_PY_OWNED_BY_CSTACK) {
		w->frame = previous;
		return 0;
	}
	__u64 code = py_read_ptr(w->frame + py->fr_code);
	if (!code)
		return 1; /* unreadable: neither ended nor found */
	/* a generator's frame changes callers between runs: no anchor */
	bool anchor = owner != MT_PY_OWNED_BY_GENERATOR;
	__u32 pos = w->steps;
	if (anchor && pos < MT_PY_ANCHORS) {
		w->a_frame[pos] = w->frame;
		w->a_code[pos] = code;
		w->a_found[pos] = w->found;
		w->steps = pos + 1;
	}
	__u32 depth = t->calls.depth;
	for (int d = MT_MAX_FRAMES - 1; d >= 0; d--) {
		if ((__u32)d >= depth)
			continue;
		struct mt_frame *f = &t->calls.f[d];
		/* a call seen returning is not this frame: that is a new call */
		if (f->entry_sp == w->frame && f->ret_addr == code && !f->tailcall) {
			w->open = d;
			return 1;
		}
	}
	for (int k = 0; k < MT_PY_ANCHORS; k++) {
		if (!anchor || k >= t->anchors)
			break;
		if (t->anchor_frame[k] == w->frame && t->anchor_code[k] == code &&
		    t->anchor_keep[k] <= depth) {
			w->anchor = t->anchor_keep[k];
			return 1;
		}
	}
	struct py_code_refs refs = {};
	if (bpf_probe_read_user(&refs, sizeof(refs), (const void *)(code + py->co_filename)))
		return 1;
	__u32 func = py_target_of(py, w->tgid, code, &refs, py_names_key(&refs));
	if (func != MT_PY_NOT_TARGET) {
		/* recursion: of a run of frames of one function, the outermost
		 * stands for the run (inner calls would fold into it) */
		__u32 n = w->found, i = n & (MT_PY_NEW - 1);
		if (n > 0 && w->new_func[(n - 1) & (MT_PY_NEW - 1)] == func) {
			i = (n - 1) & (MT_PY_NEW - 1);
			/* the entry moves out here: outside the anchors inside the run */
			for (int k = 0; k < MT_PY_ANCHORS; k++)
				if (w->a_found[k] >= n)
					w->a_found[k] = n - 1;
		} else {
			w->found = n + 1;
		}
		w->new_frame[i] = w->frame;
		w->new_code[i] = code;
		w->new_caller[i] = previous;
		w->new_func[i] = func;
	}
	w->frame = previous;
	return 0;
}

/* The thread's innermost frame, from its thread state. */
static __always_inline __u64 py_innermost_frame(const struct mt_py_proc *py, __u64 ts)
{
	if (py->ts_cframe != MT_PY_NONE) {
		__u64 cframe = py_read_ptr(ts + py->ts_cframe);
		return cframe ? py_read_ptr(cframe + py->current_frame) : 0;
	}
	return py_read_ptr(ts + py->current_frame);
}

/* The current thread's state: the one found last time if it is still this
 * thread's (its pthread_t is the task's fs base), else searched for. */
static __always_inline __u64 py_current_tstate(const struct mt_py_proc *py, struct mt_py_thread *t)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 fsbase = BPF_CORE_READ(task, thread.fsbase);

	if (t->tstate && py_read_ptr(t->tstate + py->ts_thread_id) == fsbase)
		return t->tstate;
	t->tstate = py_thread_state(py);
	return t->tstate;
}

/* Opens one call: a frame on the thread's stack of Python calls, with a slot
 * for its running peak (none if it folds into an outer call of its function). */
static __noinline void py_call_open(struct mt_proc *p, struct mt_py_thread *t, __u32 tgid,
				    const struct mt_py_proc *py, __u32 i)
{
	struct py_scratch *sc = py_scratch_get();
	if (!sc)
		return;
	const struct py_walk_state *w = &sc->walk;
	i &= MT_PY_NEW - 1;
	__u64 frame = w->new_frame[i], code = w->new_code[i], caller = w->new_caller[i];
	__u32 func = w->new_func[i];
	struct mt_func_stats *s = func_stats_of(tgid, func);
	if (!s)
		return;
	__u32 depth = t->calls.depth;
	if (depth >= MT_MAX_FRAMES) {
		__sync_fetch_and_add(&s->dropped, 1);
		MT_COUNT(frames_overflow);
		return;
	}
	__u16 folded = 0;
	for (int i = 0; i < MT_MAX_FRAMES; i++)
		if (i < depth && t->calls.f[i].func == func)
			folded = 1;
	struct mt_frame *f = &t->calls.f[depth & (MT_MAX_FRAMES - 1)];
	f->entry_sp = frame;
	f->ret_addr = code;
	f->func = func;
	f->folded = folded;
	f->tailcall = 0;
	f->entry_ns = bpf_ktime_get_ns();
	f->base = rss_of(p);
	if (folded) {
		f->slot = MT_NO_SLOT;
		__sync_fetch_and_add(&s->folded, 1);
	} else {
		f->slot = slot_take(p, tgid, f->base);
		__sync_fetch_and_add(&s->calls, 1);
	}
	t->caller[depth & (MT_MAX_FRAMES - 1)] = caller;
	t->caller_instr[depth & (MT_MAX_FRAMES - 1)] = caller ? py_read_ptr(caller + py->fr_instr) : 0;
	t->calls.depth = depth + 1;
}

/* Closing and opening calls, one per bpf_loop() step: each step's code is
 * verified once, not once per iteration. */
struct py_call_edit {
	struct mt_proc *p;
	struct mt_py_thread *t;
	const struct mt_py_proc *py;
	__u64 id;       /* tgid << 32 | tid */
	__u32 keep;     /* closing: the calls to keep open */
	__u32 returned; /* closing: as returned or not */
	__u32 count;    /* opening: how many, outermost first */
	__u32 pad;
};

static long py_close_step(__u32 index, void *ctx)
{
	struct py_call_edit *e = ctx;
	struct mt_py_thread *t = e->t;
	__u32 depth = t->calls.depth;

	if (depth <= e->keep || depth > MT_MAX_FRAMES)
		return 1;
	struct mt_frame top = t->calls.f[(depth - 1) & (MT_MAX_FRAMES - 1)];
	t->calls.depth = depth - 1;
	close_call(e->p, e->id >> 32, (__u32)e->id, &top, e->returned);
	return 0;
}

/* Closes the thread's open calls above `keep`, innermost first. */
static __always_inline void py_calls_close(struct mt_proc *p, struct mt_py_thread *t, __u64 id,
					   __u32 keep, __u32 returned)
{
	struct py_call_edit e = {.p = p, .t = t, .id = id, .keep = keep, .returned = returned};

	bpf_loop(MT_MAX_FRAMES, py_close_step, &e, 0);
}

static long py_open_step(__u32 j, void *ctx)
{
	struct py_call_edit *e = ctx;

	if (j >= e->count)
		return 1;
	struct py_scratch *sc = py_scratch_get();
	if (!sc)
		return 1;
	py_call_open(e->p, e->t, e->id >> 32, e->py, sc->walk.found - 1 - j);
	return 0;
}

/* The thread's calls brought up to date with its frame chain. */
static __noinline void py_calls_update(struct mt_proc *p, const struct mt_py_proc *py,
				       struct mt_py_thread *t, __u64 id)
{
	__u32 tgid = id >> 32;

	if (!p || !py || !t)
		return;
	__u64 ts = py_current_tstate(py, t);
	struct py_scratch *sc = py_scratch_get();
	if (!sc)
		return;
	struct py_walk_state *w = &sc->walk;
	struct py_call_walk x = {.py = py, .t = t};
	__u64 code = 0, frame;

	w->tgid = tgid;
	w->open = -1;
	w->ended = 0;
	w->found = 0;
	w->anchor = -1;
	w->steps = 0;

	/* no thread state: the thread has left Python, and every frame with it */
	frame = ts ? py_innermost_frame(py, ts) : 0;
	if (frame) {
		code = py_read_ptr(frame + py->fr_code);
		if (frame == t->last_frame && code == t->last_code)
			return; /* the same innermost frame: nothing has begun or ended */
	}
	t->last_frame = frame;
	t->last_code = code;
	w->frame = frame;
	MT_COUNT(py_walks);
	bpf_loop(MT_PY_WALK, py_call_step, &x, 0);

	__s32 open = w->open, anchor = w->anchor;
	__u32 found = w->found;
	__u32 keep = open >= 0 ? (__u32)open + 1 : anchor >= 0 ? (__u32)anchor : w->ended ? 0 : MT_MAX_FRAMES;
	if (keep < t->calls.depth && keep < MT_MAX_FRAMES && frame &&
	    t->caller[keep] == frame && py_read_ptr(frame + py->fr_instr) == t->caller_instr[keep]) {
		/* its caller has not moved on: the call is returning (its locals
		 * being freed); the calls inside it have ended. Marked so
		 * (mt_frame.tailcall, unused by Python calls): its frame seen
		 * again is a new call. Walk again at the next change. */
		py_calls_close(p, t, id, keep + 1, 1);
		t->calls.f[keep & (MT_MAX_FRAMES - 1)].tailcall = 1;
		t->last_frame = 0;
		t->anchors = 0;
		return;
	}
	if (keep < MT_MAX_FRAMES)
		py_calls_close(p, t, id, keep, 1);
	t->anchors = 0;
	/* the new calls, outermost first */
	__u32 base = t->calls.depth;
	struct py_call_edit e = {.p = p, .t = t, .py = py, .id = id};
	e.count = found < MT_PY_NEW ? found : MT_PY_NEW;
	bpf_loop(MT_PY_NEW, py_open_step, &e, 0);
	if (found > MT_PY_NEW) {
		MT_COUNT(frames_overflow); /* the innermost of them were not opened */
		return;
	}
	if (t->calls.depth != base + found)
		return; /* some were not opened: the anchors' counts would be wrong */
	__u32 steps = w->steps;
	for (int k = 0; k < MT_PY_ANCHORS; k++) {
		if (k >= steps)
			break;
		t->anchor_frame[k] = w->a_frame[k];
		t->anchor_code[k] = w->a_code[k];
		t->anchor_keep[k] = base + found - w->a_found[k];
	}
	t->anchors = steps < MT_PY_ANCHORS ? steps : MT_PY_ANCHORS;
}

static __always_inline struct mt_py_thread *py_thread_of(__u32 tid, __u32 tgid, bool create)
{
	struct mt_py_thread *t = bpf_map_lookup_elem(&py_threads, &tid);

	if (t && t->tgid == tgid)
		return t;
	if (!create)
		return NULL;
	/* a new thread, or a thread id reused by another process */
	if (bpf_map_update_elem(&py_threads, &tid, &mt_zero_py_thread, BPF_ANY)) {
		MT_COUNT(py_threads_full);
		return NULL;
	}
	t = bpf_map_lookup_elem(&py_threads, &tid);
	if (t)
		t->tgid = tgid;
	return t;
}

/* From mt_py_calls: an RSS change in process `tgid`'s own thread. */
static __always_inline void py_calls_at_rss_change(struct mt_proc *p, __u32 tgid, __u32 tid)
{
	const struct mt_py_proc *py = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!py)
		return;
	py_calls_update(p, py, py_thread_of(tid, tgid, true), (__u64)tgid << 32 | tid);
}

/* A thread ends (`exiting`) or execs: its open calls end. A thread that
 * ends with no Python frame left (no thread state, or an empty chain) has
 * returned from them all; one that ends with frames still running (os._exit,
 * a signal), or execs, leaves them unreturned. (Not a walk: the calls that
 * returned since the last RSS change are counted with the others.) */
static __always_inline void py_calls_thread_end(__u32 tgid, __u32 tid, bool exiting)
{
	struct mt_py_thread *t = bpf_map_lookup_elem(&py_threads, &tid);
	if (!t)
		return;
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (p && t->tgid == tgid && t->calls.depth) {
		const struct mt_py_proc *py = bpf_map_lookup_elem(&py_procs, &tgid);
		__u32 returned = 0;
		if (exiting && py) {
			__u64 ts = py_current_tstate(py, t);
			returned = !ts || !py_innermost_frame(py, ts);
		}
		py_calls_close(p, t, (__u64)tgid << 32 | tid, 0, returned);
	}
	bpf_map_delete_elem(&py_threads, &tid);
}

/* Process `tgid` begins figures for address space `mm`: if it had others, it
 * exec'd, and the exec'ing thread's Python calls end unreturned with the old
 * figures (before calls_end_with_image() frees their slots). */
static __noinline void py_calls_end_with_image(__u32 tgid, __u64 mm)
{
	struct mt_proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p || p->mm == mm)
		return;
	__u64 current = bpf_get_current_pid_tgid();
	if ((current >> 32) == tgid)
		py_calls_thread_end(tgid, (__u32)current, false);
}

#endif /* MEMTRACE_PYTHON_CALLS_BPF_H */
