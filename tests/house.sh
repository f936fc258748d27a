#!/bin/sh
# house.sh - `make test` leaves the source tree as it found it: every harness (fuzzer,
# pytest, the viewer test) writes under a temporary directory or the build directories.
#
#   sh tests/house.sh snapshot FILE   records the tree's state (git status) in FILE
#   sh tests/house.sh check FILE      fails, naming the files, if the tree differs from FILE
#
# The state is `git status` with untracked and ignored files, and a checksum of the
# changes to tracked files, leaving out what the build owns: build*/ (every O= directory) and tests/viewer/node_modules/ (`make deps`).
set -eu
cd "$(dirname "$0")/.."

state() {
    git status --porcelain --untracked-files=all --ignored 2>/dev/null |
        grep -v -E '^.. "?(build[^/]*/|tests/viewer/node_modules/)' || true
    # The content of tracked files too: a file already modified must stay as it was.
    echo "diff $(git diff HEAD --binary 2>/dev/null | cksum)"
}

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    [ "$1" = check ] && echo "  HOUSE   not a git checkout: tree not checked"
    exit 0
fi
case "$1" in
snapshot)
    mkdir -p "$(dirname "$2")"
    state >"$2"
    ;;
check)
    now=$(state)
    if [ "$now" != "$(cat "$2")" ]; then
        echo "*** make test changed the source tree (a harness wrote outside a temporary directory):" >&2
        printf '%s\n' "$now" | diff "$2" - | grep '^[<>]' >&2 || true
        exit 1
    fi
    echo "  HOUSE   the source tree is as make test found it"
    ;;
*)
    echo "usage: house.sh snapshot|check FILE" >&2
    exit 2
    ;;
esac
