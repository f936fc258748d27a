#!/bin/sh
# bench/writer_rss.sh BUILD N CALLS [WRITER OPTIONS]: the peak RSS (VmHWM) of one
# flowtrace-writer serving N traced processes at once, each making CALLS calls, pausing
# 3 s, and making CALLS calls again (N=1 with a large CALLS: one long run). Prints
# "N=.. calls=.. VmHWM: .. kB errors=.. runs=..". A measurement, not a test.
set -eu
B=$(cd "$1" && pwd); N=$2; C=$3; shift 3
T=$(mktemp -d "${TMPDIR:-/tmp}/ft-rss.XXXXXX")
"$B/flowtrace-writer" --dir "$T/out" --socket "$T/w.sock" --idle-exit 600 "$@" &
WP=$!
while [ ! -S "$T/w.sock" ]; do sleep 0.1; done
PIDS=""
for _ in $(seq "$N"); do
    FLOWTRACE_SOCKET="$T/w.sock" LD_PRELOAD="$B/libflowtrace.so" python3 -c "
import time
def leaf(i): return i
for i in range($C): leaf(i)
time.sleep(3)
for i in range($C): leaf(i)
" 2>>"$T/py.err" &
    PIDS="$PIDS $!"
done
for p in $PIDS; do wait "$p"; done
sleep 2 # the last runs are finished
echo "N=$N calls=$((2 * C)) $(grep VmHWM /proc/$WP/status) errors=$(wc -l <"$T/py.err")" \
     "runs=$(ls "$T/out" | grep -c -v index)"
kill "$WP"
wait "$WP" || true
rm -rf "$T"
