"""flowtrace export: Chrome trace events that nest per thread (what Perfetto needs), and
OTLP/JSON checked against the protobuf JSON mapping of opentelemetry-proto's trace.proto."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CLI, PROGRAMS, RUN, clean_env, trace
from values import shown

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CAPTURE = FIXTURES / "capture"


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    """One traced run of a million calls for the tests here (its files are not parsed)."""
    out = tmp_path_factory.mktemp("million") / "out"
    subprocess.run([str(RUN), "-q", "-o", str(out), "/usr/bin/python3",
                    str(PROGRAMS / "million.py")], env=clean_env(), check=True, timeout=600)
    return out


def export(fmt, *args):
    proc = subprocess.run([str(CLI), "export", "--format", fmt, *map(str, args)],
                          capture_output=True, text=True, env=clean_env())
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout


# ---- Chrome trace events ------------------------------------------------------------------

def check_chrome(doc):
    """Checks a Chrome trace JSON document; returns its X events by (pid, tid)."""
    assert set(doc) >= {"traceEvents"}
    tracks, names = {}, {}
    for e in doc["traceEvents"]:
        assert e["ph"] in ("X", "M"), e
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "thread_sort_index")
            names[(e["name"], e["tid"])] = e["args"]
            continue
        assert isinstance(e["name"], str) and isinstance(e["args"], dict)
        assert isinstance(e["ts"], (int, float)) and isinstance(e["dur"], (int, float))
        assert e["dur"] >= 0
        tracks.setdefault((e["pid"], e["tid"]), []).append(e)
    for (pid, tid), events in tracks.items():
        assert ("thread_name", tid) in names, f"thread {tid} has no name"
        check_nesting(events)
    return tracks, names


def check_nesting(events):
    """Per thread, complete events must nest: each inside the one open around it."""
    ns = lambda v: round(v * 1000)  # noqa: E731  (ts and dur are µs with 3 decimals)
    order = sorted(range(len(events)), key=lambda i: (ns(events[i]["ts"]), -ns(events[i]["dur"]), i))
    stack = []
    for i in order:
        start, end = ns(events[i]["ts"]), ns(events[i]["ts"]) + ns(events[i]["dur"])
        while stack and start >= stack[-1][1] and not (start == end == stack[-1][1]):
            stack.pop()
        if stack:
            assert stack[-1][0] <= start and end <= stack[-1][1], \
                f"{events[i]['name']} [{start}, {end}] crosses its parent {stack[-1]}"
        stack.append((start, end, events[i]["name"]))


def test_chrome_export_of_threads_nests_per_thread_with_names_and_args(tmp_path):
    proc, [run] = trace("/usr/bin/python3", [PROGRAMS / "threads.py"], tmp_path)
    doc = json.loads(export("chrome", "-d", tmp_path / "out"))
    tracks, names = check_chrome(doc)
    assert names[("process_name", run.tree["pid"])]["name"] == f"threads.py (run {run.tree['run']})"
    by_name = {names[("thread_name", tid)]["name"]: events for (_, tid), events in tracks.items()}
    assert sorted(by_name) == ["MainThread", "worker-1", "worker-2"]
    assert [e["name"] for e in by_name["worker-1"]] == ["worker", "work", "step", "step"]
    assert sum(len(v) for v in by_name.values()) == run.tree["tracer"]["calls"]
    step = by_name["worker-2"][2]
    assert step["cat"] == "__main__" and step["args"]["line"] == 9
    assert step["args"]["file"] == str(PROGRAMS / "threads.py")
    # Durations are the tree's, to the nanosecond.
    node = run.thread("worker-2")["calls"][0]["children"][0]["children"][0]
    assert step["dur"] == pytest.approx(node["durationMicros"], abs=0.002)
    assert doc["otherData"]["run"] == run.tree["run"]


def test_chrome_export_keeps_the_real_times_of_gathered_tasks_on_tracks_of_their_own(python, tmp_path):
    """asyncio.gather's tasks run at once: each keeps its real start and duration (they used
    to be laid end to end, the last one shrunk to nothing), on a track of its own named
    after the thread, with the calls it made; the thread's own track nests as before."""
    proc, [run] = trace(python, [PROGRAMS / "gather.py"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    tracks, names = check_chrome(json.loads(export("chrome", "-d", tmp_path / "out")))
    main = run.thread()["calls"][0]["children"][0]
    fmt = run.tree.get("format", 1)
    nodes = {shown(n["result"], fmt): n for n in main["children"]}
    assert sorted(nodes) == ["'A'", "'B'", "'C'"]
    works = [e for events in tracks.values() for e in events if e["name"] == "work"]
    assert len(works) == 3
    for e in works:
        node = nodes[shown(e["args"]["result"], fmt)]
        assert e["ts"] == pytest.approx(node["startMicros"], abs=0.002)
        assert e["dur"] == pytest.approx(node["durationMicros"], abs=0.002)
        [lane] = [events for events in tracks.values() if e in events]
        assert [x["name"] for x in lane] == ["work", "step"]
        assert names[("thread_name", e["tid"])]["name"].startswith("MainThread · task ")
    # They overlapped: b, the longest (40 ms of sleep), spans the other two.
    by_result = {shown(e["args"]["result"], fmt): e for e in works}
    b = by_result["'B'"]
    for other in ("'A'", "'C'"):
        o = by_result[other]
        assert b["ts"] < o["ts"] + o["dur"] < b["ts"] + b["dur"]
    assert len({e["tid"] for e in works}) == 3
    by_track = {names[("thread_name", tid)]["name"]: [e["name"] for e in events]
                for (_, tid), events in tracks.items()}
    # asyncio.run runs main as a task too: every task has a track of its own.
    assert by_track["MainThread"] == ["<module>"]
    assert sorted(v for k, v in by_track.items() if k.startswith("MainThread · task ")) == [
        ["main"], ["work", "step"], ["work", "step"], ["work", "step"]]


def test_chrome_export_puts_work_handed_to_another_thread_on_a_track_named_after_it():
    """A call that ran in another thread than its caller (tree.json "thread": work a
    request handed to a thread pool) goes, with its calls, on a track of its own named
    after that thread, at its real times, even though it lies within its caller's time."""
    tracks, names = check_chrome(json.loads(export("chrome", "-d", FIXTURES / "handoff")))
    by_name = {names[("thread_name", tid)]["name"]: [e["name"] for e in events]
               for (_, tid), events in tracks.items()}
    assert by_name == {"MainThread": ["<module>", "handler", "render"],
                       "MainThread · in AnyIO worker thread 1 (1)": ["blocking_io", "read_config"]}
    [blocking] = [e for events in tracks.values() for e in events if e["name"] == "blocking_io"]
    assert (blocking["ts"], blocking["dur"]) == (20.0, 50.0)


def test_chrome_export_says_where_each_exception_came_from():
    """A call an exception left carries, in its event's args, where the exception was
    raised, the line it left the call at, its causes and the call's locals, as tree.json."""
    [tree_file] = (FIXTURES / "postmortem").glob("*/tree.json")
    tree = json.loads(tree_file.read_text())
    want = {}

    def walk(n):
        want[n["function"]] = n
        for c in n["children"]:
            walk(c)
    for t in tree["threads"]:
        for n in t["calls"]:
            walk(n)
    tracks, _ = check_chrome(json.loads(export("chrome", "-d", FIXTURES / "postmortem")))
    got = {e["name"]: e["args"] for events in tracks.values() for e in events}
    assert set(got) == set(want)
    for name, n in want.items():
        exc = got[name]["exception"]
        assert exc["raise"] == n["raise"] and exc["leftAt"] == n["leftAt"], name
        assert exc.get("cause") == n.get("cause") and got[name].get("locals") == n.get("locals")
    assert got["load"]["exception"]["cause"][0]["type"] == "ValueError"
    assert got["load"]["locals"]["path"] == "'cfg:x'"


def test_chrome_export_of_a_million_calls_nests(tmp_path, million):
    out = tmp_path / "trace.json"
    export("chrome", "-d", million, "-o", out)
    tracks, _ = check_chrome(json.loads(out.read_text()))
    [events] = tracks.values()
    assert len(events) == 1_000_000


def test_chrome_export_clamps_times_that_would_not_nest(tmp_path):
    """Rounded times can put a child a nanosecond outside its parent, or siblings over
    each other: the export keeps every ordinary call inside its parent (a generator left
    outside its clamped parent goes on a track of its own, where it nests too)."""
    run = tmp_path / "out" / "20261122-101530-4242"
    shutil.copytree(CAPTURE / "20261122-101530-4242", run)
    tree = json.loads((run / "tree.json").read_text())
    main = tree["threads"][0]["calls"][0]["children"][0]
    seed, order = main["children"]
    seed["startMicros"] = main["startMicros"] - 0.001       # before its parent
    seed["durationMicros"] = 5000.0                          # past its parent's end
    order["startMicros"] = seed["startMicros"] + 1.0         # over its previous sibling
    (run / "tree.json").write_text(json.dumps(tree))
    tracks, _ = check_chrome(json.loads(export("chrome", "-d", tmp_path / "out")))
    events = sorted((e for evs in tracks.values() for e in evs), key=lambda e: e["args"]["id"])
    assert len(events) == 11
    args = events[7]["args"]
    assert args["args"] == {"name": "'cake'", "count": "3"}
    assert args["exception"] == {"type": "ValueError", "message": "only 2 cake left"}
    assert events[3]["args"]["result"] == "20"
    assert events[3]["args"]["instance"] == "0x7f3a2c1b9d50"
    assert events[5]["args"]["argsAfter"] == {"wanted": "{'coffee': 3, 'cake': 0}"}


# ---- OTLP/JSON --------------------------------------------------------------------------------
# The protobuf JSON mapping of opentelemetry-proto (trace/v1/trace.proto, common/v1,
# resource/v1) with OTLP's own rules: field names in lowerCamelCase, 64-bit integers
# (int64, fixed64) as decimal strings, enums as integers, trace and span ids as hex
# (not base64). Each line of the file is one TracesData message.

HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
INT64 = re.compile(r"-?[0-9]+")
UINT64 = re.compile(r"[0-9]+")
MESSAGES = {
    "TracesData": {"resourceSpans": ("repeated", "ResourceSpans")},
    "ResourceSpans": {"resource": "Resource", "scopeSpans": ("repeated", "ScopeSpans"),
                      "schemaUrl": "string"},
    "Resource": {"attributes": ("repeated", "KeyValue"), "droppedAttributesCount": "uint32",
                 "entityRefs": ("repeated", "any")},
    "ScopeSpans": {"scope": "InstrumentationScope", "spans": ("repeated", "Span"),
                   "schemaUrl": "string"},
    "InstrumentationScope": {"name": "string", "version": "string",
                             "attributes": ("repeated", "KeyValue"),
                             "droppedAttributesCount": "uint32"},
    "Span": {"traceId": "traceid", "spanId": "spanid", "traceState": "string",
             "parentSpanId": "spanid?", "flags": "fixed32", "name": "string", "kind": "SpanKind",
             "startTimeUnixNano": "fixed64", "endTimeUnixNano": "fixed64",
             "attributes": ("repeated", "KeyValue"), "droppedAttributesCount": "uint32",
             "events": ("repeated", "Event"), "droppedEventsCount": "uint32",
             "links": ("repeated", "any"), "droppedLinksCount": "uint32", "status": "Status"},
    "Event": {"timeUnixNano": "fixed64", "name": "string", "attributes": ("repeated", "KeyValue"),
              "droppedAttributesCount": "uint32"},
    "Status": {"message": "string", "code": "StatusCode"},
    "KeyValue": {"key": "string", "value": "AnyValue"},
    "ArrayValue": {"values": ("repeated", "AnyValue")},
    "KeyValueList": {"values": ("repeated", "KeyValue")},
}
ANY_VALUE = {"stringValue": "string", "boolValue": "bool", "intValue": "int64",
             "doubleValue": "double", "arrayValue": "ArrayValue", "kvlistValue": "KeyValueList",
             "bytesValue": "bytes"}


def check_value(kind, v, where):
    if isinstance(kind, tuple):
        assert isinstance(v, list), f"{where}: repeated field is not a list"
        for i, item in enumerate(v):
            check_value(kind[1], item, f"{where}[{i}]")
    elif kind == "any":
        pass
    elif kind == "string":
        assert isinstance(v, str), f"{where}: not a string"
    elif kind == "bool":
        assert isinstance(v, bool), f"{where}: not a bool"
    elif kind == "double":
        assert isinstance(v, (int, float)) and not isinstance(v, bool), where
    elif kind in ("uint32", "fixed32"):
        assert isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32, where
    elif kind == "int64":
        assert isinstance(v, str) and INT64.fullmatch(v) and -2**63 <= int(v) < 2**63, \
            f"{where}: int64 must be a decimal string, got {v!r}"
    elif kind == "fixed64":
        assert isinstance(v, str) and UINT64.fullmatch(v) and int(v) < 2**64, \
            f"{where}: fixed64 must be a decimal string, got {v!r}"
    elif kind == "bytes":
        assert isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", v), where
    elif kind == "traceid":
        assert isinstance(v, str) and HEX32.fullmatch(v) and int(v, 16) != 0, f"{where}: {v!r}"
    elif kind in ("spanid", "spanid?"):
        ok = isinstance(v, str) and ((HEX16.fullmatch(v) and int(v, 16) != 0)
                                     or (kind == "spanid?" and v == ""))
        assert ok, f"{where}: bad span id {v!r}"
    elif kind == "SpanKind":
        assert isinstance(v, int) and 0 <= v <= 5, f"{where}: kind {v!r}"
    elif kind == "StatusCode":
        assert isinstance(v, int) and 0 <= v <= 2, f"{where}: status code {v!r}"
    elif kind == "AnyValue":
        assert isinstance(v, dict) and len(v) == 1, f"{where}: AnyValue needs exactly one value"
        [(k, inner)] = v.items()
        assert k in ANY_VALUE, f"{where}: unknown AnyValue field {k}"
        check_value(ANY_VALUE[k], inner, f"{where}.{k}")
    else:
        assert isinstance(v, dict), f"{where}: {kind} is not an object"
        fields = MESSAGES[kind]
        for k, inner in v.items():
            assert k in fields, f"{where}: {kind} has no field {k!r}"
            check_value(fields[k], inner, f"{where}.{k}")


def otlp_spans(text):
    """Validates every line; returns (resource attributes, spans)."""
    lines = text.splitlines()
    assert lines and all(lines), "JSON lines, none empty"
    spans, resources = [], []
    for n, line in enumerate(lines):
        msg = json.loads(line)
        check_value("TracesData", msg, f"line {n + 1}")
        for rs in msg["resourceSpans"]:
            resources.append(attrs(rs["resource"]["attributes"]))
            for ss in rs["scopeSpans"]:
                assert ss["scope"]["name"] == "flowtrace"
                spans += ss["spans"]
    assert all(r == resources[0] for r in resources)
    return resources[0], spans


def attrs(kvs):
    out = {}
    for kv in kvs:
        [(kind, v)] = kv["value"].items()
        out[kv["key"]] = int(v) if kind == "intValue" else v
    return out


def check_trace(spans):
    """One trace, unique ids, one root, every parent present and around its children."""
    by_id = {s["spanId"]: s for s in spans}
    assert len(by_id) == len(spans), "span ids are unique"
    assert len({s["traceId"] for s in spans}) == 1
    roots = [s for s in spans if not s.get("parentSpanId")]
    assert len(roots) == 1
    for s in spans:
        start, end = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
        assert start <= end
        if s.get("parentSpanId"):
            p = by_id[s["parentSpanId"]]
            assert int(p["startTimeUnixNano"]) <= start and end <= int(p["endTimeUnixNano"])
        for e in s.get("events", []):
            assert start <= int(e["timeUnixNano"]) <= end
    return roots[0], by_id


def test_otlp_export_follows_the_protobuf_json_mapping(tmp_path):
    proc, [run] = trace("/usr/bin/python3", [PROGRAMS / "shop.py", "--coffee", "3"], tmp_path)
    resource, spans = otlp_spans(export("otlp", "-d", tmp_path / "out"))
    assert len(spans) == run.tree["tracer"]["calls"] + 1
    root, by_id = check_trace(spans)
    assert resource["service.name"] == "shop.py"
    assert resource["process.pid"] == run.tree["pid"]
    assert resource["process.runtime.version"] == run.tree["python"]
    assert resource["flowtrace.run.id"] == run.tree["run"]
    assert root["name"] == "shop.py"
    assert int(root["startTimeUnixNano"]) == run.tree["start"] * 1000
    add = next(s for s in spans if s["name"] == "Inventory.add")
    a = attrs(add["attributes"])
    # The semantic conventions' current names (the writer's live export uses the same).
    assert a["code.function.name"] == "__main__.Inventory.add"
    assert a["code.file.path"] == str(PROGRAMS / "shop.py") and a["code.line.number"] == 16
    assert a["thread.name"] == "MainThread" and a["thread.id"] == run.thread()["tid"]
    assert not {"code.function", "code.namespace", "code.filepath", "code.lineno"} & set(a)
    assert resource["telemetry.sdk.name"] == "flowtrace"
    assert by_id[add["parentSpanId"]]["name"] == "seed_inventory"
    # Real times: the call's start in the run, in unix nanoseconds.
    node = run.thread()["calls"][0]["children"][0]["children"][1]["children"][1]
    assert node["function"] == "Inventory.add"
    expect = run.tree["start"] * 1000 + round(node["startMicros"] * 1000)
    assert abs(int(add["startTimeUnixNano"]) - expect) <= 1
    failed = [s for s in spans if s.get("status", {}).get("code") == 2]
    assert [s["name"] for s in failed] == ["Inventory.take"]
    [event] = failed[0]["events"]
    assert event["name"] == "exception" and "exception.type" in attrs(event["attributes"])


def test_otlp_export_carries_args_exceptions_and_splits_long_runs_into_lines(tmp_path, million):
    resource, spans = otlp_spans(export("otlp", "-d", CAPTURE, "--service", "coffee-shop"))
    assert resource["service.name"] == "coffee-shop"
    root, by_id = check_trace(spans)
    assert root["status"] == {"code": 2, "message": "ValueError: only 2 cake left"}
    take = [s for s in spans if s["name"] == "Inventory.take"][1]
    a = attrs(take["attributes"])
    assert a["flowtrace.arg.name"] == "'cake'" and a["flowtrace.arg.count"] == "3"
    assert take["status"] == {"code": 2, "message": "ValueError: only 2 cake left"}
    assert attrs(take["events"][0]["attributes"]) == {
        "exception.type": "ValueError", "exception.message": "only 2 cake left"}
    gen = next(s for s in spans if s["name"].endswith("<genexpr>"))
    assert attrs(gen["attributes"])["flowtrace.resumes"] == 3
    assert attrs(gen["attributes"])["code.function.name"] == \
        "__main__.OrderService.order.<locals>.<genexpr>"

    out = tmp_path / "million.otlp.jsonl"
    export("otlp", "-d", million, "-o", out)
    with open(out) as f:
        lines = f.readlines()
    assert len(lines) == 201  # 1,000,001 spans, 5,000 a line
    resource, spans = otlp_spans("".join(lines[:1] + lines[-1:]))
    assert len(spans) == 5001 and spans[0]["name"] == "million.py"


def test_otlp_exception_event_has_the_traceback_down_to_where_it_was_raised():
    """When the run recorded where each exception was raised and the line it left each
    call at, a call's exception event carries exception.stacktrace as Python prints it."""
    resource, spans = otlp_spans(export("otlp", "-d", FIXTURES / "postmortem"))
    check_trace(spans)
    ev = {s["name"]: attrs(s["events"][0]["attributes"]) for s in spans if s.get("events")}
    app = "/srv/gone/app.py"
    assert ev["main"]["exception.stacktrace"] == (
        "Traceback (most recent call last):\n"
        f'  File "{app}", line 14, in main\n'
        f'  File "{app}", line 10, in load\n'
        "KeyError: 'cfg:x'")
    # load raised its own KeyError from parse's ValueError: its traceback ends in load.
    assert ev["load"]["exception.stacktrace"].splitlines()[1:] == [
        f'  File "{app}", line 10, in load', "KeyError: 'cfg:x'"]
    assert ev["parse"]["exception.type"] == "ValueError"
    assert ev["parse"]["exception.stacktrace"].splitlines()[1] == f'  File "{app}", line 2, in parse'


def test_otlp_exception_type_is_the_qualified_class_name(tmp_path):
    """exception.type names the class as the semantic conventions ask: with its module,
    unless it is a builtin."""
    prog = tmp_path / "parse.py"
    prog.write_text("import json\n\n\ndef parse(text):\n    return json.loads(text)\n\n\n"
                    "try:\n    parse('{')\nexcept ValueError:\n    pass\n")
    proc, [run] = trace("/usr/bin/python3", ["-W", "ignore", prog], tmp_path)
    assert proc.returncode == 0
    resource, spans = otlp_spans(export("otlp", "-d", tmp_path / "out"))
    assert resource["service.name"] == "parse.py"  # the script, past the option's value
    [failed] = [s for s in spans if s.get("events")]
    assert failed["name"] == "parse"
    event = attrs(failed["events"][0]["attributes"])
    event.pop("exception.stacktrace", None)  # where the run recorded where it was raised
    assert event == {
        "exception.type": "json.decoder.JSONDecodeError",
        "exception.message": "Expecting property name enclosed in double quotes: "
                             "line 1 column 2 (char 1)"}
    assert failed["status"]["code"] == 2
