"""Every reader of values reads format 3 (typed values, docs/format.md) and shows what
format 2 showed: tests/fixtures/typed is tests/fixtures/capture (format 1 strings) written
as format 3, plus a call `kinds` with every kind of value and locals on the call that
raised. Where the values are the same, every command gives the same text."""
import json
import shutil
import subprocess
from pathlib import Path

from conftest import CLI
from values import shown, shown_args

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OLD, NEW = "20261122-101530-4242", "20261203-180000-4343"

# What each argument of `kinds` shows as: Python's repr of the value it stands for.
KINDS = {
    "n": "115", "ratio": "0.1", "big": "1e+16", "neg": "-0.0", "flag": "True",
    "nothing": "None", "quote": "'it\\'s \"q\"\\n'", "empty": "''", "uni": "'café ☃'",
    "ctl": "'a\\tb\\x00'", "items": "[1, 'a', None, [True, 2.5]]",
    "user": "{'user': 'ana', 'when': datetime.datetime(2026, 1, 2, 0, 0)}",
    "blob": "b'\\x00ab'", "huge": "12345678901234567890", "nan": "nan", "keys": "{1: 'a'}",
    "tags": "{'x'}", "color": "<Color.RED: 1>", "token": "<redacted>",
    "url": "'token=<redacted>&page=2'", "many": "[0, 1, 2, …[truncated from 9000 items]",
    "deep": "[[[[...]]]]",
}
KINDS_RESULT = "{'ok': True, 'n': [1, 2.5], 'repr_of': 'x'}"


def cli(*args, check=True):
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          timeout=60)
    assert not check or proc.returncode == 0, proc.stderr
    return proc.stdout


def both(tmp_path):
    out = tmp_path / "out"
    for fixture in ("capture", "typed"):
        for run in (FIXTURES / fixture).iterdir():
            shutil.copytree(run, out / run.name)
    return out


def nodes(calls):
    for n in calls:
        yield n
        yield from nodes(n.get("children", []))


def calls_of(tree):
    return list(nodes(c for t in tree["threads"] for c in t["calls"]))


def tree_of(run):
    return json.loads(next((FIXTURES / run).glob("*/tree.json")).read_text())


def test_the_fixture_is_format_3_and_says_the_same_as_the_format_2_one():
    old, new = tree_of("capture"), tree_of("typed")
    assert new["format"] == 3 and "format" not in old
    a, b = calls_of(old), calls_of(new)
    assert [n["function"] for n in b] == [n["function"] for n in a] + ["kinds"]
    for m, n in zip(a, b):
        for key in ("args", "argsAfter"):
            assert shown_args(n.get(key), 3) == shown_args(m.get(key), 1), (key, m, n)
        if "result" in m:
            assert shown(n["result"]) == shown(m["result"], 1), (m, n)
    kinds = b[-1]
    assert shown_args(kinds["args"]) == KINDS
    assert shown(kinds["result"]) == KINDS_RESULT


def test_show_prints_a_format_3_run_as_it_printed_format_2(tmp_path):
    out = both(tmp_path)
    for extra in ((), ("--no-group",)):
        old = cli("show", "--color", "never", *extra, "-d", out, OLD).splitlines()
        new = cli("show", "--color", "never", *extra, "-d", out, NEW).splitlines()
        # The header names the run and counts the calls; kinds is the last call.
        assert old[1:] and new[0].replace(NEW, OLD).replace("12 calls", "11 calls") == old[0]
        assert new[2].replace("12 calls", "11 calls") == old[2]
        assert new[3:-2] == old[3:-1]
        assert new[-2].replace("├──", "└──") == old[-1]
        assert new[-1].startswith(
            "└── ✅ kinds(n=115, ratio=0.1, big=1e+16, neg=-0.0, flag=True, nothing=None, "
            "quote='it\\'s \"q\"\\n', empty='', uni='café ☃', ctl='a\\tb\\x00', …) → "
            + KINDS_RESULT), new[-1]
    no_group = cli("show", "--color", "never", "--no-group", "-d", out, NEW)
    assert "Inventory.take(name='cake', count=3)" in no_group
    assert "OrderService.order(customer='ana maria', wanted={'coffee': 3, 'cake': 3})" in no_group
    assert "seed_inventory() → <__main__.Inventory object at 0x7f3a2c1b9d50>" in no_group


def test_show_json_keeps_the_values_typed_and_says_the_format(tmp_path):
    out = both(tmp_path)
    new = json.loads(cli("show", "--json", "-d", out, NEW))
    assert new["format"] == 3
    for m, n in zip(calls_of(new), calls_of(tree_of("typed"))):
        for key in ("args", "argsAfter", "result", "locals"):
            assert m.get(key) == n.get(key), (key, m, n)
    old = json.loads(cli("show", "--json", "-d", out, OLD))
    assert "format" not in old
    take = [n for n in calls_of(old) if n["function"] == "Inventory.take"]
    assert take[1]["args"] == {"name": "'cake'", "count": "3"}


def test_diff_of_a_format_2_and_a_format_3_run_finds_no_difference_in_equal_values(tmp_path):
    out = both(tmp_path)
    text = cli("diff", "--color", "never", "-d", out, OLD, NEW)
    assert "11 calls alike, then the first difference, at call 12 of A and 12 of B, " \
           "in <module> > kinds" in text, text
    assert "11 calls alike in all; 1 divergence." in text
    assert "+   kinds(n=115, ratio=0.1, big=1e+16" in text


def plain(v):
    """A format-3 value with each described value replaced by its repr (what exports
    that take JSON write)."""
    if isinstance(v, dict):
        return v["repr"] if isinstance(v.get("repr"), str) else {k: plain(x) for k, x in v.items()}
    return [plain(x) for x in v] if isinstance(v, list) else v


def chrome_calls(out, run):
    doc = json.loads(cli("export", "--format", "chrome", "-d", out, run))
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    return [e for e in events if e.get("ph") == "X" and "id" in e.get("args", {})]


def test_chrome_export_keeps_json_types_and_puts_other_values_as_their_repr(tmp_path):
    out = both(tmp_path)
    old = {e["args"]["id"]: e["args"] for e in chrome_calls(out, OLD)}
    new = {e["args"]["id"]: e["args"] for e in chrome_calls(out, NEW)}
    typed = {n["id"]: n for n in calls_of(tree_of("typed"))}
    for i, a in old.items():
        for key in ("args", "argsAfter"):
            # Format 2's strings stay strings; format 3's values keep their JSON types,
            # a described value becomes its repr, so every value still shows as before.
            assert new[i].get(key) == plain(typed[i].get(key)), (key, new[i])
            assert {k: shown(v) for k, v in typed[i].get(key, {}).items()} == a.get(key, {})
    kinds = next(a for a in new.values() if a["id"] == 12)["args"]
    assert kinds["n"] == 115 and kinds["ratio"] == 0.1 and kinds["flag"] is True
    assert kinds["nothing"] is None and kinds["quote"] == "it's \"q\"\n"
    assert kinds["user"] == {"user": "ana", "when": "datetime.datetime(2026, 1, 2, 0, 0)"}
    assert kinds["blob"] == "b'\\x00ab'" and kinds["token"] == "<redacted>"
    assert kinds["deep"] == [[[["..."]]]]
    take = [a for a in new.values() if a.get("exception")][-1]
    assert take["locals"] == {"self": "<__main__.Inventory object at 0x7f3a2c1b9d50>",
                              "name": "cake", "count": 3, "left": 2, "api_key": "<redacted>"}


def otlp_attrs(out, run):
    spans = {}
    for line in cli("export", "--format", "otlp", "-d", out, run).splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    spans.setdefault(s["name"], []).append(
                        {a["key"]: a["value"] for a in s["attributes"]})
    return spans


def test_otlp_export_gives_plain_values_their_anyvalue_type(tmp_path):
    out = both(tmp_path)
    old, new = otlp_attrs(out, OLD), otlp_attrs(out, NEW)
    assert old["Inventory.take"][1]["flowtrace.arg.count"] == {"stringValue": "3"}
    take = new["Inventory.take"]
    assert take[0]["flowtrace.arg.name"] == {"stringValue": "coffee"}
    assert take[0]["flowtrace.arg.count"] == {"intValue": "3"}
    assert take[0]["flowtrace.result"] == {"intValue": "17"}
    assert new["seed_inventory"][0]["flowtrace.result"] == \
        {"stringValue": "<__main__.Inventory object at 0x7f3a2c1b9d50>"}
    k = new["kinds"][0]
    assert k["flowtrace.arg.ratio"] == {"doubleValue": 0.1}
    assert k["flowtrace.arg.flag"] == {"boolValue": True}
    assert k["flowtrace.arg.nothing"] == {"stringValue": "None"}
    assert k["flowtrace.arg.items"] == {"arrayValue": {"values": [
        {"intValue": "1"}, {"stringValue": "a"}, {"stringValue": "None"},
        {"arrayValue": {"values": [{"boolValue": True}, {"doubleValue": 2.5}]}}]}}
    assert k["flowtrace.arg.user"] == {"kvlistValue": {"values": [
        {"key": "user", "value": {"stringValue": "ana"}},
        {"key": "when", "value": {"stringValue": "datetime.datetime(2026, 1, 2, 0, 0)"}}]}}
    assert k["flowtrace.arg.huge"] == {"stringValue": "12345678901234567890"}
    assert k["flowtrace.arg.ctl"] == {"stringValue": "a\tb\x00"}
    assert k["flowtrace.arg.neg"] == {"doubleValue": -0.0}


def test_pytraceflow_export_gives_the_same_inputs_from_either_format(tmp_path):
    out = both(tmp_path)

    def flat(run):
        doc = json.loads(cli("export", "--format", "pytraceflow", "-d", out, run))
        every = list(doc)
        for n in every:
            every.extend(n["calls"])
        return [(n["callable"], n["inputs"], n["output"], n.get("inputs_after")) for n in every]

    old, new = flat(OLD), flat(NEW)
    assert [n for n in new if n[0] != "kinds"] == old
    [kinds] = [n for n in new if n[0] == "kinds"]
    assert kinds[1]["items"] == [1, "a", None, [True, 2.5]] and kinds[1]["huge"] == \
        "12345678901234567890"


def test_tail_shows_a_format_3_run_s_events_as_format_2_s(tmp_path):
    out = both(tmp_path)
    events = {
        OLD: [{"event": "ENTER", "function": "take", "thread": "MainThread",
               "timestamp": 1795321998528740, "args": {"name": "'cake'", "count": "3",
                                                       "o": "<app.O>"}},
              {"event": "EXIT", "function": "take", "thread": "MainThread",
               "timestamp": 1795321998528750, "durationMicros": 10,
               "result": "{'ok': True}"}],
        NEW: [{"event": "ENTER", "function": "take", "thread": "MainThread",
               "timestamp": 1795321998528740, "args": {"name": "cake", "count": 3,
                                                       "o": {"type": "app.O", "repr": "<app.O>"}}},
              {"event": "EXIT", "function": "take", "thread": "MainThread",
               "timestamp": 1795321998528750, "durationMicros": 10, "result": {"ok": True}}],
    }
    for run, lines in events.items():
        (out / run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    old, new = cli("tail", "-d", out, OLD), cli("tail", "-d", out, NEW)
    assert old == new
    assert "-> take(name='cake', count=3, o=<app.O>)" in new
    assert "<- take = {'ok': True}" in new


def test_html_shows_a_format_3_run_s_values_as_their_reprs(tmp_path):
    out = both(tmp_path)
    for run in (OLD, NEW):
        cli("html", "-d", out, "-o", tmp_path / f"{run}.html", run)
    new = (tmp_path / f"{NEW}.html").read_text()
    # The page's data holds each value's shown text (JSON-escaped in the script).
    for text in ("'ana maria'", "{'coffee': 3, 'cake': 3}", "<__main__.Inventory object at",
                 "{'user': 'ana', 'when': datetime.datetime(2026, 1, 2, 0, 0)}"):
        assert json.dumps(text)[1:-1].replace("<", "\\u003c") in new, text
    assert '"format":3' in new.replace(" ", "")
