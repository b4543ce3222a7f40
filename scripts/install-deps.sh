#!/bin/sh
# Installs the Debian packages memtrace's build, tests and demo need.
# Idempotent and quiet when everything is already there. Run as root.
set -eu

packages="make clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libzstd-dev
pkg-config g++ libcli11-dev catch2 nlohmann-json3-dev libcapstone-dev python3 util-linux procps
librsvg2-bin python3-memory-profiler python3-matplotlib python3-pil chromium"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing; run as root (sudo $0) to install them" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -qq update >/dev/null
# shellcheck disable=SC2086
apt-get -qq install -y --no-install-recommends $missing >/dev/null
