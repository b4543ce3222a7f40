#!/bin/sh
# Installs the Debian packages memtrace's benchmarks against peers need: the peers
# (heaptrack, bcc's memleak, valgrind's massif, memory_profiler's mprof), the
# programs the benchmarks run (python3 + numpy, sqlite3, ripgrep, perl, git, g++) and, for memleak, kernel
# headers. Idempotent and quiet when everything is already there. Run as root.
#
# bcc compiles memleak's BPF program with the running kernel's headers. When the
# kernel comes without them (no /lib/modules/$(uname -r)/build, no
# CONFIG_IKHEADERS), this installs Debian's current linux-headers-amd64: memleak's
# programs are uprobes that only read struct pt_regs, whose layout is the kernel's
# stable user ABI, so another version's headers compile them correctly.
# bench/peers.py merges them into one tree for bcc (BCC_KERNEL_SOURCE).
set -eu

packages="heaptrack valgrind bpfcc-tools python3-bpfcc python3-memory-profiler python3-numpy
python3 sqlite3 procps util-linux ripgrep perl git g++"
if [ ! -e "/lib/modules/$(uname -r)/build/include/linux/kconfig.h" ] &&
   [ ! -e "/lib/modules/$(uname -r)/source/include/linux/kconfig.h" ] &&
   [ ! -e /sys/kernel/kheaders.tar.xz ]; then
    case "$(uname -m)" in
        x86_64) packages="$packages linux-headers-amd64" ;;
        aarch64) packages="$packages linux-headers-arm64" ;;
    esac
fi

# shellcheck disable=SC2086
exec "$(dirname "$0")/apt-install.sh" install-bench-deps $packages
