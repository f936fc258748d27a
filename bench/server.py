#!/usr/bin/env python3
"""make bench (the server part): a FastAPI server under uvicorn on loopback, loaded by wrk
(Debian's) with CONNECTIONS concurrent connections for SECONDS per round, the paths
rotating over a sync endpoint, an async one and, one request in a hundred, a failing one.

Variants, run alternately round after round so that machine noise hits them alike:

  untraced   the server alone
  traced     flowtrace-run: every request a unit of work, every tree kept (--keep all)
  sampled    flowtrace-run with FLOWTRACE_SAMPLE=0.01 and CI=1 (--keep failed): the failed
             requests' trees and one in a hundred of the others

For each: requests per second and latency percentiles (wrk's, medians over rounds), the
requests served, the server's and the writer's resident memory over the round (sampled
every 0.2 s from /proc: first, highest, last), and the bytes left on disk. On a 2-core
machine shared with others the wall-time figures are noisy: read the ratios, not the
absolute numbers. This is a measurement, not a test: it never fails on a number.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "bench" / "workloads" / "server_app.py"
LUA = """
local paths = {}
for i = 1, 100 do
  if i == 50 then paths[i] = "/boom"
  elseif i % 2 == 0 then paths[i] = "/items/" .. (i % 20)
  else paths[i] = "/async/" .. (i % 20) end
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % 100) + 1])
end
"""
VARIANTS = ["untraced", "traced", "sampled"]


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid):
    """User + system CPU time of pid so far, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def writer_pid(out):
    """The flowtrace-writer writing into out (started by flowtrace-run), or None."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"flowtrace-writer") and str(out).encode() in argv:
            return int(d)
    return None


class Sampler(threading.Thread):
    def __init__(self, pids_of):
        super().__init__(daemon=True)
        self.pids_of, self.samples, self.done = pids_of, {}, threading.Event()

    def run(self):
        while not self.done.is_set():
            for name, pid in self.pids_of().items():
                kib = rss_kib(pid) if pid else None
                if kib is not None:
                    self.samples.setdefault(name, []).append(kib)
            time.sleep(0.2)


def parse_wrk(text):
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else float("nan")
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else 0
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, text, re.M)
        if m:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            out["p" + pct] = float(m.group(1)) * scale
        else:
            out["p" + pct] = float("nan")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["errors"] = int(m.group(1)) if m else 0
    return out


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:
                pass
    return total


def one_round(variant, args, work):
    out = work / ("out-" + variant)
    shutil.rmtree(out, ignore_errors=True)
    portfile = work / ("port-" + variant)
    if portfile.exists():
        portfile.unlink()
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("FLOWTRACE_") or k == "LD_PRELOAD" or k == "CI":
            del env[k]
    env["FLOWTRACE_BUILD"] = str(args.build)
    cmd = [args.python, str(APP), str(portfile)]
    if variant != "untraced":
        cmd = [str(args.build / "flowtrace-run"), "-q", "-o", str(out)] + cmd
        if variant == "sampled":
            env.update(FLOWTRACE_SAMPLE="0.01", CI="1")
        else:
            env["FLOWTRACE_KEEP"] = "all"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=work)
    deadline = time.time() + 60
    while not portfile.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if not portfile.exists():
        proc.kill()
        raise SystemExit("bench/server.py: the %s server did not start: %s"
                         % (variant, proc.stderr.read().decode()[-2000:]))
    pid, port = map(int, portfile.read_text().split())
    wpid = writer_pid(out) if variant != "untraced" else None
    cpu0 = {"server": cpu_seconds(pid), "writer": cpu_seconds(wpid) if wpid else None}
    sampler = Sampler(lambda: {"server": pid, "writer": wpid})
    sampler.start()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", dir=work, delete=False) as f:
        f.write(LUA)
    load = subprocess.run(["wrk", "-t2", "-c%d" % args.connections, "-d%ds" % args.seconds,
                           "--latency", "-s", f.name, "http://127.0.0.1:%d" % port],
                          capture_output=True, text=True)
    os.unlink(f.name)
    cpu1 = {"server": cpu_seconds(pid), "writer": cpu_seconds(wpid) if wpid else None}
    os.kill(pid, signal.SIGTERM)
    try:
        proc.wait(timeout=300)  # until the writer has written every run
    except subprocess.TimeoutExpired:
        proc.kill()
    sampler.done.set()
    sampler.join()
    r = parse_wrk(load.stdout)
    for name in cpu0:
        if cpu0[name] is not None and cpu1[name] is not None and r["requests"]:
            r[name + "_cpu_us"] = (cpu1[name] - cpu0[name]) / r["requests"] * 1e6
    for name, s in sampler.samples.items():
        r[name + "_rss"] = (s[0], max(s), s[-1])
    r["disk"] = du(out) if out.exists() else 0
    shutil.rmtree(out, ignore_errors=True)
    return r


def mib(kib):
    return "%.1f" % (kib / 1024)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    args.build = args.build.resolve()  # the servers run in a directory of their own
    if shutil.which("wrk") is None:
        print("bench/server.py: wrk not found (Debian's wrk): skipped")
        return
    if subprocess.run([args.python, "-c", "import fastapi, uvicorn"],
                      capture_output=True).returncode != 0:
        print("bench/server.py: fastapi/uvicorn not importable by %s: skipped" % args.python)
        return
    results = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="ft-bench-server.") as tmp:
        work = Path(tmp)
        for rnd in range(args.rounds):
            for v in VARIANTS:
                results[v].append(one_round(v, args, work))
                print("  round %d %-9s %7.0f req/s" % (rnd + 1, v, results[v][-1]["rps"]),
                      file=sys.stderr)
    print("\nServer load (FastAPI + uvicorn, wrk -c%d, %d s x %d rounds, medians; %s)"
          % (args.connections, args.seconds, args.rounds, args.python))
    print("| variant | req/s | vs untraced | p50 ms | p99 ms | requests | 5xx | server CPU "
          "µs/req | writer CPU µs/req | server RSS MiB first/max/last | writer RSS MiB max "
          "| left on disk |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = statistics.median(r["rps"] for r in results["untraced"])
    for v in VARIANTS:
        rs = results[v]
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        srv = [r.get("server_rss") for r in rs if r.get("server_rss")]
        wrt = [r["writer_rss"][1] for r in rs if r.get("writer_rss")]
        cpu = lambda k: ("%.0f" % statistics.median(r[k] for r in rs)  # noqa: E731
                         if all(k in r for r in rs) else "-")
        print("| %s | %.0f | %.2f | %.2f | %.2f | %d | %d | %s | %s | %s | %s | %s |" % (
            v, med("rps"), med("rps") / base, med("p50"), med("p99"), med("requests"),
            med("errors"), cpu("server_cpu_us"), cpu("writer_cpu_us"),
            "/".join(mib(statistics.median(s[i] for s in srv)) for i in range(3)) if srv else "-",
            mib(statistics.median(wrt)) if wrt else "-",
            "%.1f MB" % (med("disk") / 1e6)))


if __name__ == "__main__":
    main()
