#!/bin/sh
# memtrace's demo: the same feature count done two ways, traced from outside.
# Usage: scripts/demo.sh [BUILD_DIR]   (run as root: memtrace loads BPF programs)
set -eu
build=${1:-build}
memtrace="$build/memtrace"
demo="$build/demo/feature_extract"

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: memtrace needs root: run 'sudo make demo'" >&2
    exit 2
fi

for mode in array dict; do
    echo "\$ memtrace --json $build/demo/$mode.json -- $demo $mode"
    "$memtrace" --json "$build/demo/$mode.json" -- "$demo" "$mode"
    echo
done

/usr/bin/python3 - "$build/demo/array.json" "$build/demo/dict.json" <<'PY'
import json, sys
peaks = [json.load(open(f))["processes"][0]["peak_rss_bytes"] for f in sys.argv[1:]]
mib = [p / 2**20 for p in peaks]
print(f"Peak RSS: array {mib[0]:.1f} MiB, dict {mib[1]:.1f} MiB: "
      f"storing every observation needs {peaks[0] / peaks[1]:.1f}x the memory.")
PY
