"""Formats users already read: `flowtrace show --json` (tree.json's schema, filtered as show
filters), `export --format pytraceflow` (the PyTraceFlow seed's hierarchical JSON, for its
viewer and IDE plugin), and `export --unit` for every format."""
import json
import subprocess
from pathlib import Path

from conftest import CLI, PROGRAMS, RUN, clean_env, trace

SUITE = Path(__file__).parent / "units" / "calc_suite.py"
# pytest with the suite's directory as rootdir: test names do not depend on where the
# checkout and the temporary directory are.
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", SUITE.parent, SUITE]
DEBIAN = "/usr/bin/python3"
# The seed's field order for a call (samples/basic/fwt_basic.json of palices/flowtrace).
PFT_FIELDS = ["id", "callable", "module", "called", "caller", "instance_id", "inputs", "calls",
              "memory_before", "inputs_after", "output", "error", "duration_ms", "memory_after"]


def cli(*args):
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          env=clean_env())
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout


# What a call an exception left says about it, and where handed-off work ran (docs/format.md).
POSTMORTEM_KEYS = ("raise", "leftAt", "cause", "locals", "generated", "thread")
FIXTURES = Path(__file__).parents[1] / "fixtures"


def nodes(calls):
    for n in calls:
        yield n
        yield from nodes(n.get("children", []))


def test_show_json_is_the_tree_in_tree_json_schema_and_filters_as_show_does(tmp_path):
    proc, [run] = trace(DEBIAN, [PROGRAMS / "shop.py", "--cake", "3"], tmp_path)
    shown = json.loads(cli("show", "--json", "-d", tmp_path / "out"))
    tree = run.tree
    for key in ("run", "pid", "ppid", "argv", "cwd", "python", "start", "exitCode", "ended"):
        assert shown[key] == tree[key], key
    assert shown["tracer"]["calls"] == tree["tracer"]["calls"]
    [a], [b] = shown["threads"], tree["threads"]
    assert (a["name"], a["tid"]) == (b["name"], b["tid"])
    mine, theirs = list(nodes(a["calls"])), list(nodes(b["calls"]))
    assert len(mine) == len(theirs) == tree["tracer"]["calls"]
    for m, t in zip(mine, theirs):
        for key in ("id", "module", "function", "file", "line", "args", "result", "exception",
                    "instance", "argsAfter", "resumes") + POSTMORTEM_KEYS:
            assert m.get(key) == t.get(key), (key, m, t)
        assert abs(m["startMicros"] - t["startMicros"]) < 0.001
        assert abs(m["durationMicros"] - t["durationMicros"]) < 0.001
        assert len(m["children"]) == len(t.get("children", []))
    # --errors: the paths to calls that raised; --depth: the levels kept.
    errors = json.loads(cli("show", "--json", "--errors", "-d", tmp_path / "out"))
    fns = [n["function"] for n in nodes(errors["threads"][0]["calls"])]
    assert fns == ["<module>", "main", "OrderService.order", "Inventory.take"]
    assert [("exception" in n) for n in nodes(errors["threads"][0]["calls"])] == \
        [False, False, False, True]  # the order caught it
    shallow = json.loads(cli("show", "--json", "--depth", "1", "-d", tmp_path / "out"))
    assert max(len(list(nodes([c]))) for c in shallow["threads"][0]["calls"]) <= 1 + \
        len(shallow["threads"][0]["calls"][0]["children"])
    assert all(c["children"] == [] for c in shallow["threads"][0]["calls"][0]["children"])


def test_show_json_keeps_where_exceptions_came_from_the_sources_and_handed_off_threads():
    for fixture in ("postmortem", "handoff"):
        [tree_file] = (FIXTURES / fixture).glob("*/tree.json")
        tree = json.loads(tree_file.read_text())
        shown = json.loads(cli("show", "--json", "-d", FIXTURES / fixture))
        assert shown.get("sources") == tree.get("sources")
        mine = list(nodes(c for t in shown["threads"] for c in t["calls"]))
        theirs = list(nodes(c for t in tree["threads"] for c in t["calls"]))
        assert len(mine) == len(theirs)
        for m, t in zip(mine, theirs):
            for key in POSTMORTEM_KEYS:
                assert m.get(key) == t.get(key), (fixture, key, m, t)
        assert any(key in t for t in theirs for key in POSTMORTEM_KEYS), fixture


def test_pytraceflow_has_the_seeds_fields_and_typed_values(tmp_path):
    proc, [run] = trace(DEBIAN, [PROGRAMS / "shop.py", "--cake", "3"], tmp_path)
    doc = json.loads(cli("export", "--format", "pytraceflow", "-d", tmp_path / "out"))
    assert isinstance(doc, list) and len(doc) == 1
    root = doc[0]
    assert list(root)[:5] == ["id", "callable", "module", "called", "inputs"]
    assert (root["id"], root["callable"], root["called"], root["module"]) == \
        (0, "shop.py", "shop.py", "__main__")
    # <module> is left out, as the seed did: main hangs from the root.
    [main] = root["calls"]
    assert main["callable"] == "main" and main["caller"] == "shop.py::shop.py"
    every = list(main["calls"])
    for n in every:
        every.extend(n["calls"])
        assert list(n) == PFT_FIELDS, list(n)
    by = {(n["called"], n["callable"]): n for n in every}
    order = by[("OrderService", "order")]
    assert order["inputs"] == {"customer": "ana", "wanted": {"coffee": 1, "cake": 3},
                               "tax": 0.21}
    assert order["caller"] == "main::main"
    node = next(x for x in nodes(run.thread()["calls"]) if x["function"] == "OrderService.order")
    assert order["instance_id"] == int(node["instance"], 16)
    take = [n for n in every if n["callable"] == "take"]
    assert [t["inputs"] for t in take] == [{"name": "coffee", "count": 1},
                                           {"name": "cake", "count": 3}]
    assert take[0]["output"] == 19 and take[0]["error"] is None
    assert take[1]["output"] is None and take[1]["error"] == "ValueError('only 2 cake left')"
    assert take[1]["called"] == "Inventory" and take[1]["caller"] == "OrderService::order"
    assert abs(take[1]["duration_ms"] - node_ms(run, take[1]["id"])) < 0.001
    # The order changed what it was given: inputs_after holds it, at the end.
    assert order["inputs_after"]["wanted"] == {"coffee": 1, "cake": 3}


def node_ms(run, call_id):
    return next(x for x in nodes(run.thread()["calls"]) if x["id"] == call_id)["durationMicros"] / 1000


def test_pytraceflow_puts_other_threads_under_nodes_named_after_them(tmp_path):
    proc, [run] = trace(DEBIAN, [PROGRAMS / "threads.py"], tmp_path)
    [root] = json.loads(cli("export", "--format", "pytraceflow", "-d", tmp_path / "out"))
    names = [(c["callable"], c["called"], c["module"]) for c in root["calls"]]
    assert names == [("main", "main", "__main__"), ("worker-1", "Thread", "threading"),
                     ("worker-2", "Thread", "threading")]
    worker = root["calls"][1]["calls"][0]
    assert (worker["callable"], worker["inputs"]) == ("worker", {"n": 1})
    assert [c["callable"] for c in worker["calls"][0]["calls"]] == ["step", "step"]
    ids = [root["id"]]
    todo = list(root["calls"])
    while todo:
        n = todo.pop()
        ids.append(n["id"])
        todo.extend(n["calls"])
    assert len(ids) == len(set(ids))


def test_export_unit_writes_one_unit_in_every_format(tmp_path):
    subprocess.run([str(RUN), "-q", "-o", str(tmp_path / "out"), "--keep", "all", DEBIAN, "-m",
                    *map(str, PYTEST[1:])],
                   env=clean_env(), capture_output=True, cwd=tmp_path)
    d = tmp_path / "out"
    chrome = json.loads(cli("export", "--format", "chrome", "--unit", "test_report[4,-5,6]", "-d", d))
    names = [e["name"] for e in chrome["traceEvents"] if e["ph"] == "X"]
    assert names == ["runtestprotocol", "call_and_report", "call_and_report", "test_report",
                     "report", "parse", "call_and_report"]
    lines = cli("export", "--format", "otlp", "--unit", "2", "-d", d).splitlines()
    spans = [s for line in lines for rs in json.loads(line)["resourceSpans"]
             for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert [s["name"] for s in spans][1:] == names  # after the process's own span
    [root] = json.loads(cli("export", "--format", "pytraceflow", "--unit", "2", "-d", d))
    [proto] = root["calls"]
    assert proto["callable"] == "runtestprotocol"
    test = proto["calls"][1]["calls"][0]
    assert test["inputs"] == {"text": "4,-5,6"}
    assert test["error"] == "ValueError(\"negative value in '4,-5,6'\")"
