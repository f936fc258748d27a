"""The peak disk a run takes while it is written, against the files it leaves.

    python3 bench/peak_disk.py BUILD OUT [--compress] PYTHON PROGRAM [ARGS...]

Runs PROGRAM under BUILD/flowtrace-run -o OUT (OUT must not exist or be empty), samples
the bytes allocated under OUT every 5 ms until the run is over, and prints the peak, the
final size and their ratio (docs/architecture.md, "Peak disk of a run"). Allocated
blocks are counted, not file sizes, so a sparse or preallocated file counts as the disk
it takes.
"""
import os
import subprocess
import sys
import time


def allocated(root):
    total = 0
    for d, _, files in os.walk(root):
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_blocks * 512
            except OSError:
                pass  # removed between the listing and the stat: a part or temporary file
    return total


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    build, out, rest = argv[0], argv[1], argv[2:]
    opts = []
    if rest[0] == "--compress":
        opts, rest = ["--compress"], rest[1:]
    os.makedirs(out, exist_ok=True)
    if os.listdir(out):
        sys.exit(f"peak_disk: {out} is not empty")
    cmd = [os.path.join(build, "flowtrace-run"), "-o", out, "-q"] + opts + ["--"] + rest
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, allocated(out))
        time.sleep(0.005)
    final = allocated(out)
    peak = max(peak, final)
    mib = 1024 * 1024
    print(f"exit {proc.returncode}: peak {peak / mib:.1f} MiB, final {final / mib:.1f} MiB, "
          f"peak/final {peak / final if final else 0:.2f}x")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
