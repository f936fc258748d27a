"""Typed values (format 3): what a real program's values are in events.jsonl and tree.json.

One table, every interpreter: each value of programs/capture/typed.py is passed to
case(name, v), which returns it, so its argument and its result must both be the JSON
below (addresses masked); docs/format.md "Rendered values" is the rule."""
import json
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, PROGRAMS, ROOT, balanced, trace
from values import shown

ADDR = re.compile(r"0x[0-9a-f]+")
OBJ = {"type": "__main__.Order", "repr": "<__main__.Order object at 0x…>"}
REDACTED = {"redacted": True, "repr": "<redacted>"}

CASES = {
    "none": None, "true": True, "false": False,
    "int": 115, "int_53": 2**53 - 1, "int_neg_53": -(2**53 - 1),
    "int_over_53": {"type": "int", "repr": "9007199254740992"},
    "int_huge": {"type": "int", "repr": "1180591620717411303424"},
    "float_1": 1.0, "float_tenth": 0.1, "float_1e16": 1e16,
    "float_neg0": -0.0,
    "float_nan": {"type": "float", "repr": "nan"},
    "float_inf": {"type": "float", "repr": "-inf"},
    "str_quotes": 'say "hi"', "str_apostrophe": "it's", "str_control": "a\nb\x01c\t",
    "str_unicode": "café €",
    "str_surrogate": {"type": "str", "repr": "<str with surrogates>"},
    "bytes": {"type": "bytes", "repr": "b'by\\x00tes'"},
    "bytearray": {"type": "bytearray", "repr": "bytearray(b'x')"},
    "nested": [1, [2, 3], {"k": [None, 2.5]}], "tuple_1": [1], "empty": [[], {}, []],
    "dict_int_keys": {"type": "dict", "repr": "{1: 'a'}"},
    "dict_repr_key": {"type": "dict", "repr": "{'repr': 1}"},
    "set": {"type": "set", "repr": "{1}"},
    "deep": [[[[{"type": "list", "repr": "[...]"}]]]],
    "enum": {"type": "__main__.Color", "repr": "<__main__.Color object at 0x…>"},
    "object": OBJ,
    "dict_with_object": {"user": "ana", "order": OBJ},
    "str_long": {"type": "str", "repr": "'" + "x" * 999 + "…[truncated from 3000 chars]",
                 "truncated": 3000},
    "secret_key": {"user": "ana", "token": REDACTED},
    "secret_text": "token=<redacted>&page=2",
}

# The JSON text a float is written as: the repr, so a reader that keeps it prints it.
FLOAT_TEXT = {"float_1": "1.0", "float_neg0": "-0.0", "float_tenth": "0.1",
              "float_1e16": "1e+16"}


def masked(v):
    return json.loads(ADDR.sub("0x…", json.dumps(v, ensure_ascii=False)))


def run_cases(python, tmp_path, *options):
    proc, [run] = trace(python, [PROGRAMS / "capture" / "typed.py"], tmp_path,
                        wrapper_args=options)
    assert proc.returncode == 0, proc.stderr
    balanced(run.events)
    assert run.tree["format"] == 4 and "malformedValues" not in run.tree["tracer"]
    return run


def case_values(run):
    """name -> (argument, result) of each case() call, from events.jsonl."""
    got, enter = {}, {}
    for e in run.events:
        if e["function"] != "case":
            continue
        if e["event"] == "ENTER":
            enter[e["id"]] = e["args"]
        else:
            args = enter.pop(e["id"])
            got[args["name"]] = (masked(args["v"]), masked(e["result"]))
    return got


def test_each_value_is_typed_json_in_events_and_tree(python, tmp_path):
    run = run_cases(python, tmp_path)
    got = case_values(run)
    assert {k: got[k][0] for k in CASES} == CASES
    assert {k: got[k][1] for k in CASES} == CASES
    text = (run.path / "events.jsonl").read_text()
    for name, t in FLOAT_TEXT.items():
        assert f'"name":"{name}","v":{t}}}' in text
    assert "hunter2" not in text and "s3cr3t" not in text
    # A container cut at --max-arg-length is described whole, with its item count.
    long_list = got["list_long"][0]
    assert long_list["type"] == "list" and long_list["truncated"] == 2000
    assert long_list["repr"].startswith("[0, 1, 2, ")
    assert long_list["repr"].endswith("…[truncated from 2000 items]")
    # Ints sent as 8 bytes (all-int calls) are numbers too, or described past 2^53.
    [ints] = [e for e in run.events if e["function"] == "ints" and e["event"] == "ENTER"]
    assert ints["args"] == {"a": {"type": "int", "repr": "9007199254740992"}, "b": -5}
    # The tree carries the same values.
    pay = [n for n in walk(run.thread()["calls"]) if n["function"] == "pay"][0]
    assert pay["args"] == {"amount": 115, "card": "4111-1111", "password": REDACTED}
    assert pay["result"] == {"ok": True, "amount": 115}
    # What a user reads: each value shown as the repr it stands for.
    assert shown(pay["args"]["card"]) == "'4111-1111'" and shown(got["nested"][0]) == \
        "[1, [2, 3], {'k': [None, 2.5]}]"


def walk(nodes):
    for n in nodes:
        yield n
        yield from walk(n.get("children", []))


def test_objects_with_repr_are_described_by_their_repr(python, tmp_path):
    run = run_cases(python, tmp_path, "--repr")
    got = case_values(run)
    assert got["object"][0] == {"type": "__main__.Order", "repr": "Order(5)"}
    assert got["dict_with_object"][0] == {
        "user": "ana", "order": {"type": "__main__.Order", "repr": "Order(7)"}}
    assert got["enum"][0] == {"type": "__main__.Color", "repr": "<Color.RED: 1>"}


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_jq_reads_an_amount_as_a_number(python, tmp_path):
    run = run_cases(python, tmp_path)
    out = subprocess.run(
        ["jq", "-c", 'select(.function == "pay" and .event == "ENTER") | '
                     '[.args.amount, (.args.amount | type), .args.card, .args.amount + 1]',
         str(run.path / "events.jsonl")], capture_output=True, text=True, check=True)
    assert out.stdout == '[115,"number","4111-1111",116]\n'


def test_a_run_recovered_from_an_older_stream_is_typed_with_its_texts_described(tmp_path):
    # A raw.ftb spooled by a library before wire 1.8 (the fuzzer's seed from
    # capture/ints.py): ints sent as 8 bytes become numbers, rendered text is described by
    # its repr, and the run says the current format (typed values: 3 and later).
    seed = ROOT / "tests" / "fuzz" / "corpus" / "real-1-capture-ints-py-111893"
    run = tmp_path / "out" / "20261101-000000-111893"
    run.mkdir(parents=True)
    (run / "raw.ftb").write_bytes(seed.read_bytes()[1:])  # its first byte is the fuzzer's
    subprocess.run([BUILD / "flowtrace-writer", "--dir", tmp_path / "out", "--recover"], check=True,
                   capture_output=True, timeout=60)
    tree = json.loads((run / "tree.json").read_text())
    assert tree["format"] == 4
    adds = [n for n in walk(tree["threads"][0]["calls"]) if n["function"] == "add"]
    assert (adds[0]["args"], adds[0]["result"]) == ({"a": 0, "b": -1}, -1)
    big = [n for n in adds if n["args"]["a"] == {"repr": "1000000000000000000000000000000"}]
    assert big and big[0]["result"] == {"repr": "1000000000000000000000000000001"}
    assert shown(big[0]["result"]) == "1000000000000000000000000000001"
