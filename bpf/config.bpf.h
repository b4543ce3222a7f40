/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What memtrace was asked to trace (struct mt_config in abi.h), written by the
 * loader into .rodata before load. .rodata is frozen at load, so the verifier
 * reads every field as a constant and prunes the code of features not asked for.
 */
#ifndef MEMTRACE_CONFIG_BPF_H
#define MEMTRACE_CONFIG_BPF_H

#include "vmlinux.h"
#include "memtrace/abi.h"

const volatile struct mt_config mt_cfg = {
	.sample_bytes = 512 * 1024,
	.page_size = 4096,
	.nr_cpus = 1,
	.stacks = MT_STACKS_NONE,
	.unwind = MT_UNWIND_FP,
	.stack_copy = MT_STACK_COPY_DEFAULT,
	.copy_cpus = 1,
};

#endif /* MEMTRACE_CONFIG_BPF_H */
