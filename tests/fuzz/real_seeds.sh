#!/bin/sh
# real_seeds.sh - regenerates the fuzzer's seeds from real streams: small programs traced
# with `flowtrace-run --keep-raw` on each interpreter given, each raw.ftb saved with a
# leading control byte 0 (fed whole; see fuzz_stream.c). Usage: real_seeds.sh PYTHON...
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$root/tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for py in "$@"; do
    n=$((n + 1))
    for prog in nested.py threads.py "ends.py exception" "procs.py fork" capture/ints.py; do
        out=$tmp/$n-$(echo "$prog" | tr ' ./' '---')
        # shellcheck disable=SC2086
        (cd "$root/tests/integration/programs" &&
            "$root/build/flowtrace-run" -q --keep-raw -o "$out" "$py" $prog >/dev/null 2>&1) || true
        for raw in "$out"/*/raw.ftb; do
            [ -f "$raw" ] || continue
            name=real-$(basename "$out")-$(basename "$(dirname "$raw")" | tr -dc 0-9 | tail -c 6)
            { printf '\000'; cat "$raw"; } >"$corpus/$name"
        done
    done
done
ls -l "$corpus"
