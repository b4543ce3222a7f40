#!/bin/sh
# Installs the Debian packages memtrace's build, tests and demo need.
# Idempotent and quiet when everything is already there. Run as root.
set -eu

packages="make clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libzstd-dev
pkg-config g++ libcli11-dev catch2 nlohmann-json3-dev libcapstone-dev python3 util-linux procps
librsvg2-bin golang-go python3-memory-profiler python3-matplotlib python3-pil chromium man-db bsdutils
prometheus"

# shellcheck disable=SC2086
exec "$(dirname "$0")/apt-install.sh" install-deps $packages
