"""The flowtrace command on big inputs: work and memory grow with the size of a run, never
faster. Bounds are on CPU time and address space (RLIMIT_CPU, RLIMIT_AS), which a loaded
machine does not inflate, with a wide margin on each side of the figure measured."""
import json
import resource
import subprocess

from conftest import CLI, clean_env
from test_cli import arg_lists, embedded_data


def limited(cpu_s=None, as_mb=None):
    def apply():
        if cpu_s is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        if as_mb is not None:
            resource.setrlimit(resource.RLIMIT_AS, (as_mb << 20, as_mb << 20))
    return apply


def cli_limited(args, **limits):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          env=clean_env(), preexec_fn=limited(**limits))


def write_run(out, calls, name="r1", big=b""):
    """A run directory whose tree.json holds calls; the string "BIG" in them becomes the
    bytes big (written as they are, without a JSON encoder's copies)."""
    run = out / name
    run.mkdir(parents=True)
    tree = {"run": name, "pid": 1, "argv": ["python3", "a.py"], "python": "3.11.2", "start": 1,
            "durationMicros": 10.0, "exitCode": 0, "ended": "exit",
            "tracer": {"calls": 1, "events": 2, "lost": 0},
            "threads": [{"name": "MainThread", "tid": 1, "calls": calls}]}
    head, tail = json.dumps(tree).encode().split(b"BIG", 1) if big else (b"", b"")
    with open(run / "tree.json", "wb") as f:
        f.write(head + big + tail if big else json.dumps(tree).encode())
    return run


def call(fid=1, **extra):
    return {"id": fid, "module": "__main__", "function": "f", "file": "/a.py", "line": 1,
            "startMicros": 0, "durationMicros": 1, "children": [], **extra}


def test_a_200_mb_string_reads_in_linear_time(tmp_path):
    # yajl lexes a token that spans reads again from its start on every read: with fixed
    # 256 KiB reads a 200 MB string took 46 s of CPU here (108 s on the prober's machine);
    # the reader now grows its reads while one token spans them: 0.4 s.
    write_run(tmp_path / "out", [call(args={"s": "BIG"})], big=b"x" * (200 << 20))
    proc = cli_limited(["show", "-d", tmp_path / "out", "r1"], cpu_s=10)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert "f(s=xxxxxxxx" in proc.stdout


def write_flat_run(out, n, name="big"):
    """A run of n + 1 calls: main, and n calls of leaf under it, written as the writer
    streams them (no JSON encoder holding the tree)."""
    run = out / name
    run.mkdir(parents=True)
    head = json.dumps({"format": 2, "run": name, "pid": 1, "argv": ["python3", "a.py"],
                       "python": "3.11.2", "start": 1, "durationMicros": n + 2.0,
                       "exitCode": 0, "ended": "exit",
                       "tracer": {"calls": n + 1, "events": 2 * n + 2, "lost": 0}})[:-1]
    with open(run / "tree.json", "w") as f:
        f.write(head + ',"threads":[{"name":"MainThread","tid":1,"calls":[{"id":1,'
                '"module":"__main__","function":"main","file":"/a.py","line":5,'
                '"startMicros":0,"children":[')
        leaf = ('{"id":%d,"module":"__main__","function":"leaf","file":"/a.py","line":1,'
                '"startMicros":%d.5,"args":{"i":"%d"},"children":[],"durationMicros":0.25,'
                '"result":"%d"}')
        for start in range(0, n, 10000):
            f.write(",".join(leaf % (i + 2, i, i, i) for i in range(start, min(n, start + 10000))))
            f.write("," if start + 10000 < n else "")
        f.write('],"durationMicros":%d.0,"result":"None"}]}]}' % (n + 1))
    return run


def test_stats_holds_the_functions_not_the_calls(tmp_path):
    # issue 17 item 15: stats held every call (137 MB per million calls); it now counts
    # them as they stream from the file. 500,000 calls took 68 MB; now ~4 MB whatever the
    # count, under a 32 MB address-space cap (the program and its libraries included).
    write_flat_run(tmp_path / "out", 500_000)
    proc = cli_limited(["stats", "-d", tmp_path / "out", "big"], as_mb=32)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    lines = proc.stdout.splitlines()
    assert "500001 calls of 2 functions" in lines[0], lines[0]
    rows = {l.split()[-2]: l.split() for l in lines[3:]}
    assert rows["leaf"][:5] == ["500000", "0", "125.00ms", "125.00ms", "25.0%"], rows
    assert rows["main"][:5] == ["1", "0", "500.00ms", "375.00ms", "75.0%"], rows


def flat_run_limited(tmp_path, cmd, name, as_mb=64):
    """Runs `flowtrace CMD` on a flat 500,000-call run, writing tmp_path/name, under an
    as_mb address-space cap (the program and its libraries included); returns the file."""
    write_flat_run(tmp_path / "out", 500_000)
    out = tmp_path / name
    proc = cli_limited([*cmd, "-d", tmp_path / "out", "-o", out, "big"], as_mb=as_mb)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    return out


def export_limited(tmp_path, fmt, name):
    """The run exported as `fmt` under a 64 MB cap."""
    return flat_run_limited(tmp_path, ["export", "--format", fmt], name)


def test_export_holds_a_few_bytes_a_call_not_the_tree(tmp_path):
    # issue 17 item 15: export held the run's whole tree with its values (357 MB per
    # million calls). It now reads the run twice (tools/cli/skel.h): times and places in
    # ~40 bytes a call, then the values call by call. 500,000 calls took ~180 MB; now
    # ~25 MB, under a 64 MB address-space cap (the program and its libraries included).
    out = export_limited(tmp_path, "chrome", "trace.json")
    with open(out) as f:
        events = [e for e in json.load(f)["traceEvents"] if e["ph"] == "X"]
    assert len(events) == 500_001
    main, first, last = events[0], events[1], events[-1]
    assert (main["name"], main["ts"], main["dur"]) == ("main", 0, 500_001), main
    assert (first["name"], first["ts"], first["dur"]) == ("leaf", 0.5, 0.25), first
    assert first["args"]["args"] == {"i": "0"} and first["args"]["result"] == "0", first
    assert (last["ts"], last["args"]["id"], last["args"]["result"]) == (499_999.5, 500_001,
                                                                        "499999"), last


def test_otlp_export_holds_a_few_bytes_a_call_not_the_tree(tmp_path):
    # The same for OTLP/JSON: its spans are written in pre-order too, each under its
    # caller's, an exception's traceback made of its callees' (the same two reads).
    out = export_limited(tmp_path, "otlp", "trace.jsonl")
    with open(out) as f:
        lines = f.readlines()
    head, tail = (json.loads(l)["resourceSpans"][0]["scopeSpans"][0]["spans"]
                  for l in (lines[0], lines[-1]))
    # the program's span, then every call's, 5,000 a line
    assert (len(lines), len(head), len(tail)) == (101, 5000, 2), (len(lines), len(tail))
    spans = head + tail
    program, main, first, last = spans[0], spans[1], spans[2], spans[-1]
    assert (main["name"], main["parentSpanId"]) == ("main", program["spanId"]), main
    assert (first["name"], first["parentSpanId"]) == ("leaf", main["spanId"]), first
    assert int(first["endTimeUnixNano"]) - int(first["startTimeUnixNano"]) == 250, first
    ids = {a["key"]: a["value"] for a in last["attributes"]}
    assert ids["flowtrace.call.id"] == {"intValue": "500001"}, ids
    assert ids["flowtrace.result"] == {"stringValue": "499999"}, ids


def test_pytraceflow_export_holds_a_few_bytes_a_call_not_the_tree(tmp_path):
    # The same for the PyTraceFlow seed's nested JSON: a call's text before and after its
    # calls, spooled as the second read completes it, then written in the tree's order.
    out = export_limited(tmp_path, "pytraceflow", "run.json")
    with open(out) as f:
        root = json.load(f)[0]
    (main,) = root["calls"]
    assert (main["callable"], main["caller"], len(main["calls"])) == ("main", "a.py::a.py",
                                                                      500_000), main["caller"]
    last = main["calls"][-1]
    assert (last["id"], last["caller"], last["inputs"], last["output"]) == (
        500_001, "main::main", {"i": 499999}, 499999), last  # reprs read as literals


def test_html_holds_a_few_bytes_a_call_not_the_tree(tmp_path):
    # issue 17 item 15: `flowtrace html` held the whole tree with its values (485 MB per
    # million calls; 500,000 calls need ~245 MB of address space). It now reads the run
    # twice too (tools/cli/html_stream.h): the columns are filled in pre-order from
    # records kept in a temporary file, so it holds the skeleton, the distinct strings
    # and 8 bytes a call (52 MB of address space for these 500,000 calls: a 96 MB cap).
    out = flat_run_limited(tmp_path, ["html"], "page.html", as_mb=96)
    data = embedded_data(out.read_text())
    s = data["strings"]
    assert len(data["code"]) == len(data["size"]) == len(data["dur"]) == 500_001
    assert data["threads"] == [[s.index("MainThread"), 1, 0, 500_001, 1]], data["threads"]
    codes = [s[data["codes"][4 * c]] for c in data["code"][:2]]
    assert codes == ["main", "leaf"] and data["size"][:2] == [500_000, 0], codes
    assert data["start"][:3] == [0, 500, 1000] and data["dur"][:2] == [500_001_000, 250]
    first, last = arg_lists(data)[1], arg_lists(data)[-1]
    assert (first, s[data["result"][1] - 1]) == ([("i", "0")], "0"), first
    assert (last, s[data["result"][-1] - 1]) == ([("i", "499999")], "499999"), last
