// What a uprobe hit costs on this machine before its BPF program runs: the
// breakpoint trap and the kernel's handling of the probed instruction (an
// optimized 5-byte nop, an emulated push, a single-stepped lea). Measured once
// at start, when -f traces native functions, on probes in memtrace's own code
// (~20 ms): the BPF program's share is measured separately while tracing.
#pragma once

#include "probes/x86_code.h"
#include "session/loader.h"

namespace memtrace {

// Each kind timed on a function of memtrace's that starts with such an
// instruction; the BPF program's run time inside those hits (run-time
// statistics must be on) and the call's own cost are taken out. A kind that
// cannot be timed keeps design.md's figure, and `measured` is then false.
TrapCosts measure_trap_costs(BpfLoader &loader);

} // namespace memtrace
