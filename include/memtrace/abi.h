/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one contract between memtrace's BPF programs and its userspace.
 *
 * Rules: fixed-width types only, explicit padding, no bool/long/pointer/enum-typed
 * fields, every name prefixed mt_/MT_ (vmlinux.h defines thousands of global names).
 * Userspace static_asserts the sizes (userspace/collect/records.h).
 */
#ifndef MEMTRACE_ABI_H
#define MEMTRACE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MT_COMM_LEN 16
#define MT_ARGS_LEN 256 /* command-line bytes copied at exec */
#define MT_PATH_LEN 256 /* bytes of the exec'd file's name copied at exec */

/* Indices of the kernel's mm rss counters (enum MM_*PAGES, stable since 2.6.34). */
#define MT_RSS_FILE 0
#define MT_RSS_ANON 1
#define MT_RSS_SWAP 2
#define MT_RSS_SHMEM 3
#define MT_NR_RSS 4

/* mt_proc.flags */
#define MT_PROC_ATTACHED (1u << 0) /* seen first while already running (-p, -a) */
#define MT_PROC_FORKED (1u << 1)   /* created by a fork of a traced process */
#define MT_PROC_EXECED (1u << 2)   /* figures cover the program since its exec */
#define MT_PROC_EXITED (1u << 3)   /* exit seen; exit_code is valid */
#define MT_PROC_HELD (1u << 4)     /* memtrace's child before it execs the command: no stacks */
#define MT_PROC_REPLACED (1u << 5) /* this program ended by an exec (MT_REC_EXIT of an earlier program) */

/* Values in the targets map */
#define MT_TARGET 1
#define MT_TARGET_HELD 2 /* memtrace's child, held until tracing starts, then exec'ing the command */

/*
 * Memory figures of one process image (a process, reset when it execs: like the
 * kernel's VmHWM, the figures describe the program now running). Page counts.
 * Kept in the `procs` map, keyed by tgid, and copied whole into MT_REC_EXIT.
 */
struct mt_proc {
	__u32 tgid;
	__u32 ppid;
	__u64 mm;               /* identity of the mm_struct only; never dereferenced */
	__u64 start_ns;         /* bpf_ktime_get_ns() when these figures began */
	__u64 exit_ns;
	__u32 flags;            /* MT_PROC_* */
	__s32 exit_code;        /* wait-status encoding: (status << 8) | signal */
	__s64 pages[MT_NR_RSS]; /* current counters, exact (count + per-CPU deltas) */
	__u64 start_rss;        /* file + anon + shmem when figures began */
	__u64 peak_rss;
	__u64 peak_split[MT_NR_RSS]; /* counters at the moment of peak_rss */
	__u64 peak_ns;
	__u64 vm;               /* mm->total_vm at the last mapping change seen */
	__u64 peak_vm;
	__u64 faults;           /* user page faults */
	__u64 touched;          /* pages brought in: sum of RSS increments */
	__u64 mapped;           /* virtual memory growth (mmap, brk, mremap) */
	__u64 unmapped;         /* virtual memory shrink (munmap, brk, mremap) */
	char comm[MT_COMM_LEN];
	/* traced function calls (-f): internal state, not figures */
	__u64 call_floor;       /* lowest running peak among active calls (pages) */
	__u32 active_calls;     /* calls open in this process (all threads) */
	__u32 pad0;
	/* timeline (--timeline): the interval being filled */
	__u64 tl_slot;          /* ktime / resolution of the current interval, 0 before any */
	__u64 tl_max;           /* highest RSS in it (pages) */
	__u64 tl_last;          /* RSS at its latest change (pages) */
	/* what the programs this process ran before its latest exec touched and
	 * mapped (pages): stack samples taken then are kept, so totals count them */
	__u64 touched_before_exec;
	__u64 mapped_before_exec;
	/* the kernel's own high-water mark of this program's address space when it
	 * ended (exit or exec): max(mm->hiwater_rss, get_mm_rss()), what VmHWM
	 * shows; 0 before the end */
	__u64 kernel_hwm;
};

/*
 * Traced functions (-f). Each function has an entry probe and a probe on each of
 * its ret instructions; the attach cookie says which function and which kind.
 * Frames are matched by the user stack pointer at entry (where the return
 * address lies), so a frame left without its ret (exception, longjmp, tail call,
 * thread exit) is closed as soon as the thread is seen above it.
 */
#define MT_PROBE_ENTRY 0
#define MT_PROBE_RETURN 1   /* on a ret instruction of the function */
#define MT_PROBE_TAILCALL 2 /* on a jmp that leaves the function for another */
#define MT_PROBE_ENTRY_TAILCALL 3 /* entry probe on a function that is one tail-call jmp */
#define MT_PROBE_RETADDR 4  /* at a return address of a call that left by tail call */
#define MT_COOKIE(kind, func) ((kind) * 0x100000000ull + (func)) /* func < 2^32 */

#define MT_MAX_FRAMES 16   /* traced calls open at once on one thread */
#define MT_CALL_SLOTS 32   /* traced calls open at once in one process */
#define MT_NO_SLOT 0xffffffffu

struct mt_frame {
	__u64 entry_sp;   /* user stack pointer at entry: the return address's slot */
	__u64 ret_addr;   /* the return address found there */
	__u64 base;       /* process RSS at entry (pages) */
	__u64 entry_ns;
	__u32 func;
	__u32 slot;       /* index into the process's call slots, or MT_NO_SLOT */
	__u16 folded;     /* a recursive call folded into the outer call of the same function */
	__u16 tailcall;   /* left by a tail call: the callee returns for it */
	__u32 pad;
};

struct mt_thread_frames {
	__u32 tgid;
	__u32 depth;
	__u32 overflow;   /* entries not pushed: deeper than MT_MAX_FRAMES */
	__u32 pad;
	struct mt_frame f[MT_MAX_FRAMES];
};

/* Running peaks of the calls open in one process: every RSS rise raises them. */
struct mt_call_slots {
	__u64 used;       /* bit i: slot i is in use */
	__u64 peak[MT_CALL_SLOTS];
};

struct mt_func_key {
	__u32 tgid;
	__u32 func;
};

/* Per process and function, aggregated in the kernel. Pages and counts. */
struct mt_func_stats {
	__u64 calls;          /* outermost calls entered */
	__u64 returned;       /* closed at one of its ret instructions */
	__u64 unreturned;     /* closed otherwise: exception, longjmp, tail call, thread exit, exec */
	__u64 folded;         /* recursive calls folded into an outer call */
	__u64 dropped;        /* calls not tracked: too deep on the thread */
	__u64 entry_hits;     /* entry probe hits */
	__u64 return_hits;    /* return-site probe hits */
	__u64 max_peak_inc;   /* highest peak - base of a call */
	__u64 max_peak_rss;   /* highest peak of a call */
	__s64 total_net;      /* sum of (RSS at return - base), returned calls */
	__u64 max_base;       /* base of the call that set max_peak_inc */
	__u64 max_entry_ns;   /* entry time of that call */
	__u64 max_exit_ns;    /* its end */
	__u32 max_tid;        /* its thread */
	__u32 marks;          /* timeline marks sent */
	__u64 marks_dropped;  /* calls not marked: more than MT_MARKS_PER_FUNC, not a new maximum */
};

/*
 * Stacks (--folded): sampled by bytes per thread. Every MT bytes of growth a
 * thread accumulates (pages brought in, or memory mapped), its stack is taken
 * and that stack's weight grows by the bytes accumulated (a multiple of the
 * sample size; the remainder waits for the next sample).
 */
#define MT_STACKS_NONE 0
#define MT_STACKS_TOUCH 1 /* RSS growth: pages brought in */
#define MT_STACKS_MAP 2   /* VM growth: mmap, brk, mremap */
/* Touch samples sent one by one with the page they brought in, and the ranges
 * that leave RSS or move: userspace replays them to the peak or the end
 * (--stacks peak|end). */
#define MT_STACKS_RESIDENT 3
#define MT_STACK_DEPTH 64 /* frames kept per stack */
#define MT_STACK_LOST (-1) /* user_stack / kernel_stack: not captured */

/*
 * How user stacks are walked (--unwind). Frame pointers: bpf_get_stackid, in
 * the kernel, aggregated in stack_bytes. DWARF: the user registers and a copy
 * of the top of the user stack go to userspace (MT_REC_STACK), which unwinds
 * them with the binaries' call-frame information. Auto: DWARF where the
 * sampled instruction lies in code without frame pointers (mt_unwind_hint).
 */
#define MT_UNWIND_FP 0
#define MT_UNWIND_DWARF 1
#define MT_UNWIND_AUTO 2
#define MT_STACK_COPY_MAX 65536   /* --stack-bytes limit */
#define MT_STACK_COPY_DEFAULT 16384
#define MT_DRAIN_MS 50            /* memtrace reads records that do not wake it at least this often */
#define MT_HINT_RANGES 16

/* Per process (auto): where its code has no frame pointers. Written by
 * userspace from the process's mappings; absent means "not known yet": DWARF.
 * code_gen is the process's code generation (code_gens map: bumped by BPF at
 * exec and at each executable mmap) read before the mappings were: a hint
 * from an older generation missed some code and is not used. */
struct mt_unwind_hint {
	__u32 dwarf_all;        /* the program itself has no frame pointers */
	__u32 n;                /* ranges used */
	__u64 start[MT_HINT_RANGES];
	__u64 end[MT_HINT_RANGES];
	__u64 code_gen;
};

struct mt_stack_key {
	__u32 tgid;
	__u32 tid;          /* 0 unless per-thread stacks were asked for */
	__s32 user_stack;   /* id in user_stacks, or MT_STACK_LOST */
	__s32 kernel_stack; /* id in kernel_stacks, or MT_STACK_LOST when not asked */
};

struct mt_sample_state {
	__u64 pending;      /* bytes since this thread's last sample */
	char comm[MT_COMM_LEN];
};

/*
 * What memtrace was asked to trace: set by userspace before load, in BPF's
 * .rodata (mt_cfg). The verifier reads its fields as constants and drops the
 * code of features that are off.
 */
struct mt_config {
	__u64 timeline_ns;      /* --timeline: interval length in ns; 0 = no timeline */
	__u64 sample_bytes;     /* --folded: bytes of growth per thread between stack samples */
	__u64 page_size;        /* bytes per page: RSS and VM counters are in pages */
	__u32 trace_all;        /* -a: every process, not just those in `targets` */
	__u32 follow_children;  /* --children: forks of targets become targets */
	__u32 nr_cpus;          /* possible CPUs: the per-CPU deltas an mm counter can have */
	__u32 funcs;            /* -f: traced functions (frames, call peaks) */
	__u32 stacks;           /* MT_STACKS_*: the growth stacks are sampled on, or none */
	__u32 kernel_stacks;    /* also take kernel stacks */
	__u32 per_thread;       /* stacks per thread, named after it */
	__u32 unwind;           /* MT_UNWIND_*: how user stacks are walked */
	__u32 stack_copy;       /* --stack-bytes: user stack bytes copied for DWARF (multiple of 8) */
	__u32 copy_cpus;        /* entries of stack_scratch: CPUs that can copy a stack */
	__u32 lines;            /* --lines: every sample is copied (with the RSS), for its lines */
	__u32 py_patterns;      /* -f py: patterns in py_patterns; 0 = no Python calls traced */
	__u32 py_func_base;     /* the first function id given to a Python function */
	__u32 self_tgid;        /* memtrace itself: never traced (-a would see its own work) */
	__u32 py_stack_frames;  /* 1: stack samples carry Python frames (not --no-python-frames) */
	__u32 hold_execs;       /* -f patterns wait for programs exec'd later: hold such execs (hold_names) */
	__u32 map_records;      /* --folded: each executable mapping sent as MT_REC_MAPPING */
	__u32 pad0;
};

/*
 * -f patterns waiting for a program a traced process will exec (its MODULE was
 * nowhere at start, or a bare pattern matched nothing yet). A traced process
 * exec'ing a file whose name is in hold_names, and not yet in hold_seen, is
 * stopped (SIGSTOP, sent by the exec handler before the program's first
 * instruction) and its exec record says so; userspace probes the program, marks
 * the file seen, and resumes it (SIGCONT).
 */
#define MT_HOLD_NAMES 8
#define MT_HOLD_NAME_LEN 64
struct mt_hold_name {
	__u32 used;
	__u32 len;              /* bytes of name; 0: any program (a bare pattern) */
	char name[MT_HOLD_NAME_LEN]; /* the file's name (basename, after symlinks) */
};

/* A file, as the kernel knows it: its superblock's dev_t (MAJOR << 20 | MINOR)
 * and inode number. */
struct mt_file_id {
	__u64 dev;
	__u64 ino;
};

/* Ring-buffer records: each starts with mt_rec_hdr; decoded in one place. */
#define MT_REC_EXEC 1
#define MT_REC_EXIT 2
#define MT_REC_EXEC_MAP 3 /* a traced process mapped executable code (stacks only) */
#define MT_REC_POINT 4    /* a timeline interval ended (--timeline) */
#define MT_REC_MARK 5     /* a traced call ended (--timeline with -f) */
#define MT_REC_RETSITE 6  /* a call left by tail call: probe its return address, please */
#define MT_REC_STACK 7    /* a user stack to unwind with DWARF (--unwind dwarf|auto) */
#define MT_REC_SAMPLE 8   /* a frame-pointer touch sample with its page (--stacks peak|end) */
#define MT_REC_RANGE 9    /* pages that left RSS or moved (--stacks peak|end) */
#define MT_REC_MAPPING 10 /* an executable file mapping of a traced process (--folded) */
#define MT_MARKS_PER_FUNC 200 /* marks kept per process and function, besides new maxima */

struct mt_rec_hdr {
	__u32 type; /* MT_REC_* */
	__u32 tgid;
	__u64 ts_ns;
};

struct mt_rec_exec {
	struct mt_rec_hdr hdr;
	__u32 ppid;
	__u32 args_len;         /* bytes valid in args: NUL-separated argv */
	char comm[MT_COMM_LEN];
	char args[MT_ARGS_LEN];
	__u32 held;             /* stopped for -f probes (hold_names): resume it with SIGCONT */
	__u32 pad;
	char filename[MT_PATH_LEN]; /* the program exec'd, as execve was given it (bprm->filename) */
};

struct mt_rec_exit {
	struct mt_rec_hdr hdr;
	struct mt_proc proc;    /* final figures, exit_code set */
};

/*
 * An executable file mapping, read from the kernel's vma when it was made (at
 * exec: the program's text and the interpreter's; at an mmap with PROT_EXEC),
 * as perf's PERF_RECORD_MMAP2: userspace names and unwinds stacks of processes
 * gone before it could read /proc/PID/maps. The path is the dentry chain up to
 * the root, leaf first, each name NUL-terminated ("as\0bin\0usr\0" is /usr/bin/as).
 */
#define MT_MAP_PATH 256         /* path bytes kept (a name starts below this, may end past it) */
#define MT_MAP_PATH_CUT 1       /* flags: the path is longer than kept */
struct mt_rec_mapping {
	struct mt_rec_hdr hdr;
	__u64 start;
	__u64 end;
	__u64 pgoff;            /* file offset of start, bytes */
	struct mt_file_id file;
	__u32 path_len;         /* bytes of path used */
	__u32 flags;            /* MT_MAP_* */
	char path[2 * MT_MAP_PATH];
};

/* A call of `func` left its function by a tail call; the callee will return to
 * `ret_addr` (an address in process hdr.tgid). A probe there ends such calls
 * the moment they return. Sent once per (process, return address). */
struct mt_rec_retsite {
	struct mt_rec_hdr hdr;
	__u32 func;
	__u32 pad;
	__u64 ret_addr;
};

/* One interval of the timeline: hdr.ts_ns is its end. Pages. */
struct mt_rec_point {
	struct mt_rec_hdr hdr;
	__u64 rss_end;          /* RSS when the interval ended */
	__u64 rss_max;          /* the highest RSS inside it */
};

/* One traced call, for the plot's brackets: hdr.ts_ns is its end. */
struct mt_rec_mark {
	struct mt_rec_hdr hdr;
	__u32 tid;
	__u32 func;
	__u64 entry_ns;
	__u64 base;             /* RSS at entry (pages) */
	__u64 peak;             /* highest RSS while open (pages) */
	__u64 rss_end;          /* RSS when it ended (pages) */
	__u32 returned;
	__u32 pad;
};

/* A sampled stack to unwind in userspace: the user registers at the sample
 * and `size` bytes of the user stack from `sp` up, read page by page (the copy
 * ends early at the first unreadable page: the stack's top, usually; or on the
 * main thread at mm->start_stack, above which are no frames). */
#define MT_COPY_ENDED_EARLY 1 /* flags: the copy holds the whole stack, though short of --stack-bytes */
/*
 * Python (CPython 3.11-3.13) frames, read from the interpreter's own frame
 * chain at each sample of a registered process (py_procs). The offsets are
 * per version, written by userspace (userspace/python/interpreter.cpp); "none"
 * offsets are MT_PY_NONE.
 */
#define MT_PY_FRAMES 32         /* Python frames kept per sample, innermost first */
#define MT_PY_THREADS 32        /* thread states searched for the sampled thread */
#define MT_PY_NONE 0xffff
#define MT_PY_OWNED_BY_CSTACK 3 /* 3.12+: a shim frame below each _PyEval_EvalFrameDefault call */
struct mt_py_proc {
	__u64 runtime;          /* address of _PyRuntime in the process */
	__u16 rt_interp_head;   /* _PyRuntimeState.interpreters.head */
	__u16 rt_tstate_current; /* 3.11: .gilstate.tstate_current (the GIL holder), or NONE */
	__u16 is_threads_head;  /* PyInterpreterState.threads.head */
	__u16 ts_next;          /* PyThreadState.next */
	__u16 ts_thread_id;     /* PyThreadState.thread_id: the thread's pthread_t (its fs base) */
	__u16 ts_cframe;        /* PyThreadState.cframe (3.11, 3.12), or NONE */
	__u16 current_frame;    /* _PyCFrame.current_frame, or (no cframe) PyThreadState.current_frame */
	__u16 fr_code;          /* _PyInterpreterFrame.f_code (f_executable in 3.13) */
	__u16 fr_previous;
	__u16 fr_instr;         /* .prev_instr (3.11, 3.12), .instr_ptr (3.13) */
	__u16 fr_is_entry;      /* 3.11, or NONE */
	__u16 fr_owner;
	__u16 co_qualname;
	__u16 co_filename;      /* co_filename, co_name, co_qualname, co_linetable: 4 pointers in a row */
	__u16 co_firstlineno;
	__u16 co_linetable;
	__u16 co_code;          /* co_code_adaptive: the bytecode */
	__u16 str_ascii_data;   /* sizeof(PyASCIIObject): where compact ASCII text starts */
	__u16 str_compact_data; /* sizeof(PyCompactUnicodeObject): compact non-ASCII text */
	__u16 pad;
};

#define MT_PY_ENTRY 1           /* mt_py_frame.flags: the outermost frame of one _PyEval_EvalFrameDefault call */
struct mt_py_frame {
	__u64 code;             /* the code object (with names: a key into py_codes) */
	__u64 names;            /* its filename, qualname and line table pointers mixed: a freed
	                         * code object's address reused by another is another key */
	__u32 instr;            /* bytes from co_code_adaptive to the frame's instruction pointer */
	__u32 flags;            /* MT_PY_* */
};

#define MT_PY_NO_THREAD 1       /* mt_rec_stack.py_status: the sampled thread has no thread state */
#define MT_PY_TRUNCATED 2       /* more frames than MT_PY_FRAMES */
#define MT_PY_READ_FAILED 4     /* a frame could not be read */

/* A code object's names and line table, copied on first sight: named after the
 * process is gone. Text as CPython stores it (kind: bytes per character). */
#define MT_PY_NAME 96
#define MT_PY_FILE 160
#define MT_PY_LINETABLE 1024
struct mt_py_code_key {
	__u32 tgid;
	__u32 pad;
	__u64 code;
	__u64 names;            /* as in mt_py_frame */
};
struct mt_py_code {
	char qualname[MT_PY_NAME];
	char filename[MT_PY_FILE];
	__u32 qualname_len;     /* characters */
	__u32 filename_len;
	__u8 qualname_kind;     /* 1, 2 or 4 bytes per character; 0 unreadable */
	__u8 filename_kind;
	__u16 pad;
	__s32 firstlineno;
	__u32 linetable_len;    /* bytes of the line table (copied: at most MT_PY_LINETABLE) */
	__u32 pad2;
	__u8 linetable[MT_PY_LINETABLE];
};

/*
 * Python function calls (-f py:PATTERN). At every RSS change in a thread of a
 * registered Python process, the thread's frame chain is compared with its open
 * Python calls (a call is a frame address and its code object): calls no longer
 * on the chain end, target frames new on it begin, both at the RSS before the
 * change; the change then raises every open call's peak (the call slots of -f).
 * A code object is a target if its qualname or MODULE.QUALNAME matches one of the
 * patterns, compiled by userspace into elements (glob syntax of fnmatch(3)).
 */
#define MT_PY_PATTERNS 16       /* py: patterns at most */
#define MT_PY_PATTERN_LEN 128   /* elements of a compiled pattern */
#define MT_PY_CLASSES 8         /* [...] sets per pattern */
#define MT_GLOB_CHAR 1          /* mt_py_pattern.op: the byte arg */
#define MT_GLOB_ANY 2           /* ? */
#define MT_GLOB_STAR 3          /* * */
#define MT_GLOB_CLASS 4         /* a byte in set arg (negation folded into the set) */
struct mt_py_pattern {
	__u32 len;              /* elements used */
	__u32 pad;
	__u8 op[MT_PY_PATTERN_LEN];
	__u8 arg[MT_PY_PATTERN_LEN];
	__u8 sets[MT_PY_CLASSES][32]; /* bit c: byte c is in the set */
};

#define MT_PY_NOT_TARGET 0xffffffffu /* py_targets: a code object no pattern names */
#define MT_PY_FUNCS 4096        /* Python functions (target code objects) traced at most */
#define MT_PY_WALK 256          /* frames compared per RSS change, innermost first */
#define MT_PY_ANCHORS 4         /* frames of the last walk remembered per thread */

/* Per thread of a Python process: its thread state, the innermost frame at the
 * last walk (the same frame and code next time: nothing to walk), and its open
 * Python calls (mt_frame.entry_sp: the frame's address, .ret_addr: its code). */
struct mt_py_thread {
	__u32 tgid;
	__u32 pad;
	__u64 tstate;
	__u64 last_frame;
	__u64 last_code;
	struct mt_thread_frames calls;
	/* per open call: its caller's frame and instruction pointer when it was
	 * first seen. Gone from the chain while the caller is innermost and has
	 * not moved on, a call is still returning (CPython unlinks a frame before
	 * freeing its locals): it ends at a later change. */
	__u64 caller[MT_MAX_FRAMES];
	__u64 caller_instr[MT_MAX_FRAMES];
	/* the innermost frames of the last walk, and how many open calls lie at
	 * or outside each: a walk that meets one of them again stops there (what
	 * is outside a live frame has not changed) */
	__u64 anchor_frame[MT_PY_ANCHORS];
	__u64 anchor_code[MT_PY_ANCHORS];
	__u32 anchor_keep[MT_PY_ANCHORS];
	__u32 anchors;
	__u32 pad2;
};

struct mt_rec_stack {
	struct mt_rec_hdr hdr;
	__u32 tid;
	__s32 kernel_stack;     /* id in kernel_stacks, or MT_STACK_LOST */
	__u64 weight;           /* bytes this sample stands for */
	__u64 rss;              /* the process's RSS when the sample was taken (pages) */
	__u64 ip, sp, bp;       /* user registers */
	__u64 addr;             /* --stacks peak|end: the page the sample's fault brought in; 0: none */
	__u32 size;             /* bytes of stack copied */
	__u32 flags;            /* MT_COPY_* */
	__u32 py_count;         /* Python frames in py (0: not a Python process, or none running) */
	__u32 py_status;        /* MT_PY_* */
	struct mt_py_frame py[MT_PY_FRAMES];
	/* followed by `size` bytes: the stack from sp up */
};

/*
 * --stacks peak|end. A touch sample walked by frame pointers, with the page
 * whose user fault brought the growth in (the faulting address, page-aligned);
 * addr 0: growth with no user fault (MAP_POPULATE, mlock, get_user_pages, a
 * page brought in for another process): kept as resident until the end.
 */
struct mt_rec_sample {
	struct mt_rec_hdr hdr;
	__u32 tid;              /* 0 unless per-thread stacks */
	__s32 user_stack;       /* id in user_stacks, or MT_STACK_LOST */
	__s32 kernel_stack;     /* id in kernel_stacks, or MT_STACK_LOST */
	__u32 pad;
	__u64 weight;           /* bytes the sample stands for */
	__u64 addr;
};

/* Pages of a process that left RSS or moved, as a syscall that succeeded
 * says (hdr.ts_ns: its exit). */
#define MT_RANGE_GONE 1   /* [start, start + len) left RSS: munmap, madvise, brk shrink, MAP_FIXED */
#define MT_RANGE_MOVED 2  /* mremap: [start, start + min(len, new_len)) now at `to`; the rest gone */
#define MT_RANGE_RESET 3  /* a new program (exec): every page of the previous one is gone */
struct mt_rec_range {
	struct mt_rec_hdr hdr;
	__u32 kind;             /* MT_RANGE_* */
	__u32 pad;
	__u64 start;
	__u64 len;
	__u64 to;
	__u64 new_len;
};

/*
 * Everything that can be dropped or can fail is counted here. BPF keeps one
 * copy per CPU (the `stats` per-CPU array); userspace adds them up. Every field
 * is a __u64 counter: the sum is taken field by field.
 */
struct mt_stats {
	__u64 ringbuf_drops;    /* records lost: ring buffer full */
	__u64 procs_full;       /* processes not traced: procs map full */
	__u64 mm_full;          /* mm ownership not recorded: mm_owner map full */
	__u64 percpu_misses;    /* per-CPU counter reads that failed */
	__u64 rss_events;       /* rss_stat events counted for traced processes */
	__u64 fault_events;
	__u64 vm_events;
	__u64 execs;
	__u64 forks;
	__u64 exits;
	__u64 frames_overflow;  /* calls not tracked: thread too deep (MT_MAX_FRAMES) */
	__u64 slots_full;       /* calls whose peak was approximated: MT_CALL_SLOTS open */
	__u64 func_stats_full;  /* function figures lost: map full */
	__u64 threads_full;     /* calls not tracked: thread map full */
	__u64 retsites;         /* return-address probes asked for */
	__u64 stack_samples;    /* stacks taken */
	__u64 user_stacks_lost; /* user stacks not captured (stack map full or collision) */
	__u64 kernel_stacks_lost;
	__u64 stack_bytes_full; /* samples not counted: stack_bytes map full */
	__u64 stack_copies;     /* stacks sent to userspace for DWARF unwinding */
	__u64 stack_copy_drops; /* stack copies lost: stack ring buffer full */
	__u64 py_stacks;        /* stack samples with Python frames */
	__u64 py_codes_full;    /* Python code objects not named: py_codes map full */
	__u64 py_walks;         /* -f py: frame chains walked (the innermost frame had changed) */
	__u64 py_funcs_full;    /* -f py: target code objects not traced: MT_PY_FUNCS reached or map full */
	__u64 py_threads_full;  /* -f py: threads not followed: py_threads map full */
	__u64 samples_dropped;  /* --stacks peak|end: touch samples lost (stack ring buffer full) */
	__u64 ranges_dropped;   /* --stacks peak|end: ranges leaving RSS not seen (ring full, args map full) */
};

#endif /* MEMTRACE_ABI_H */
