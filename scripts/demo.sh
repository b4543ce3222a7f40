#!/bin/sh
# memtrace's demo: the same feature count done two ways, traced from outside,
# recorded over time and plotted together (memory_profiler's mprof run / plot,
# without its blind spots). Usage: scripts/demo.sh [BUILD_DIR]   (as root)
set -eu
build=${1:-build}
memtrace="$build/memtrace"
demo="$build/demo/feature_extract"

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: memtrace needs root: run 'sudo make demo'" >&2
    exit 2
fi

for mode in array dict; do
    echo "\$ memtrace record -o $build/demo/$mode.mtrace -- $demo $mode"
    "$memtrace" record -o "$build/demo/$mode.mtrace" -- "$demo" "$mode"
    echo
done

plot="$build/demo/array-vs-dict.svg"
echo "\$ memtrace plot $build/demo/array.mtrace $build/demo/dict.mtrace -o $plot"
"$memtrace" plot "$build/demo/array.mtrace" "$build/demo/dict.mtrace" -o "$plot" \
    --title "feature_extract: every observation (array) vs distinct ones (dict)"

/usr/bin/python3 - "$build/demo/array.mtrace" "$build/demo/dict.mtrace" "$plot" <<'PY'
import json, sys
def peak(path):
    with open(path) as f:
        lines = [json.loads(line) for line in f]
    return lines[-1]["processes"][0]["peak_rss_bytes"]  # the report line: exact peak
peaks = [peak(p) for p in sys.argv[1:3]]
print(f"\nPeak RSS: array {peaks[0] / 2**20:.1f} MiB, dict {peaks[1] / 2**20:.1f} MiB: "
      f"storing every observation needs {peaks[0] / peaks[1]:.1f}x the memory.")
print(f"Plot of both over time: {sys.argv[3]} (open it in a browser)")
PY
