"""What each call took, gave and raised; generators and tasks; scope and the seeds' knobs.

Each test traces a real program under both interpreters and compares the call tree, with
arguments, results and exceptions, to the exact text a user would read (see
conftest.details for the notation; addresses are masked)."""
import json
import re
import struct
import subprocess
from pathlib import Path

import pytest

from values import shown

from conftest import (INTERPRETERS, PROGRAMS, RUN, balanced, clean_env, preload, runs_in, trace,
                      version_of)

CAPTURE = PROGRAMS / "capture"


def traced(python, tmp_path, program, *options, status=0, cwd=None):
    proc, runs = trace(python, [CAPTURE / program], tmp_path, wrapper_args=options, cwd=cwd)
    assert proc.returncode == status, proc.stderr
    [run] = runs
    balanced(run.events)
    return run


def test_every_kind_of_parameter_by_name_and_the_return_value(python, tmp_path):
    run = traced(python, tmp_path, "calls.py")
    assert run.details() == """\
[MainThread]
  main() -> None
    describe(a=1, b=2, rest=[], sep='-', extra={}) -> '1-2'
    describe(a=1, b='two', rest=[3.5, None], sep='+', extra={'x': b'\\x00y', 'y': True}) -> '1+two+3.5+None+x+y'
    Basket.empty(owner='ana') -> <__main__.Basket object at 0x…>
      Basket.__init__(owner='ana') -> None @obj1
    Basket.put(item='tea', qty=1, gift=False) -> 1 @obj1
    Basket.put(item='cake', qty=2, gift=True) -> 2 @obj1
    Basket.tax(amount=10) -> 2.1
    fill(bag=[0], n=2) -> None after(bag=[0, 0, 1])
    login(user='ana', password=<redacted>, api_key=<redacted>) -> 'ana:ok'"""
    # JSONL: args on ENTER and result on EXIT are typed JSON values (format 3): a str is a
    # string of its content, an int a number, a bool a boolean; a tuple reads as an array.
    put = [e for e in run.events if e["function"] == "Basket.put"]
    assert put[0]["event"] == "ENTER" and put[0]["args"] == {
        "item": "tea", "qty": 1, "gift": False}
    assert put[1]["event"] == "EXIT" and put[1]["result"] == 1
    main = run.thread()["calls"][0]["children"][0]
    # Output format 2 on: a call's caller is the node it is in (no "caller" repeats it).
    assert run.tree["format"] == 4 and main["function"] == "main"
    assert all("caller" not in c for c in main["children"])
    assert main["children"][2]["function"] == "Basket.empty"
    assert "hunter2" not in (run.path / "events.jsonl").read_text()


def test_redaction_is_configurable(python, tmp_path):
    # --redact adds names to the defaults; "none" drops those before it.
    run = traced(python, tmp_path, "calls.py", "--redact", "user")
    assert run.details().splitlines()[-1] == \
        "    login(user=<redacted>, password=<redacted>, api_key=<redacted>) -> 'ana:ok'"
    (tmp_path / "only").mkdir()
    run = traced(python, tmp_path / "only", "calls.py", "--redact", "none,user")
    assert run.details().splitlines()[-1] == \
        "    login(user=<redacted>, password='hunter2', api_key='k-123') -> 'ana:ok'"
    (tmp_path / "none").mkdir()
    run = traced(python, tmp_path / "none", "calls.py", "--redact", "none")
    assert "password='hunter2'" in run.details()


def test_objects_are_not_asked_for_their_repr_unless_wanted(python, tmp_path):
    run = traced(python, tmp_path, "reprs.py")
    lines = run.details().splitlines()
    assert lines[2:5] == [
        "    show(obj=<__main__.Raises object at 0x…>) -> <__main__.Raises object at 0x…>",
        "    show(obj=<__main__.Recurses object at 0x…>) -> <__main__.Recurses object at 0x…>",
        "    show(obj=<__main__.Fine object at 0x…>) -> <__main__.Fine object at 0x…>"]


def test_a_repr_that_raises_or_recurses_is_recorded_not_propagated(python, tmp_path):
    plain = subprocess.run([python, CAPTURE / "reprs.py"], capture_output=True, text=True,
                           env=clean_env())
    proc, [run] = trace(python, [CAPTURE / "reprs.py"], tmp_path, wrapper_args=["--repr"])
    assert (proc.returncode, proc.stdout) == (plain.returncode, plain.stdout) == (0, "")
    assert proc.stderr.startswith(plain.stderr)  # "done", then our summary line
    lines = run.details().splitlines()
    assert lines[2:5] == [
        "    show(obj=<repr() of __main__.Raises object raised ValueError: no repr for you>)"
        " -> <repr() of __main__.Raises object raised ValueError: no repr for you>",
        "    show(obj=<repr() of __main__.Recurses object raised RecursionError: maximum "
        "recursion depth exceeded>) -> <repr() of __main__.Recurses object raised "
        "RecursionError: maximum recursion depth exceeded>",
        "    show(obj=Fine()) -> Fine()"]


def test_a_10mb_string_argument_is_bounded_and_says_how_long_it_was(python, tmp_path):
    run = traced(python, tmp_path, "reprs.py")
    [size] = [e for e in run.events if e["function"] == "size" and e["event"] == "ENTER"]
    # A cut value is described whole: its repr as format 2 showed it, and how long it was.
    assert size["args"]["text"] == {
        "type": "str", "repr": "'" + "x" * 999 + "…[truncated from 10000000 chars]",
        "truncated": 10000000}
    assert (run.path / "events.jsonl").stat().st_size < 16_000
    (tmp_path / "n").mkdir()
    run = traced(python, tmp_path / "n", "reprs.py", "--max-arg-length", "10")
    [size] = [e for e in run.events if e["function"] == "size" and e["event"] == "ENTER"]
    assert shown(size["args"]["text"]) == "'xxxxxxxxx…[truncated from 10000000 chars]"


def test_exceptions_caught_up_the_stack_and_uncaught(python, tmp_path):
    plain = subprocess.run([python, CAPTURE / "failing.py"], capture_output=True, text=True,
                           env=clean_env())
    proc, [run] = trace(python, [CAPTURE / "failing.py"], tmp_path)
    assert plain.returncode == proc.returncode == 1
    assert proc.stderr.startswith(plain.stderr)
    # pack catches OutOfStock: it returns normally; ship raises its own error, uncaught.
    assert run.details(skip=()) == """\
[MainThread]
  <module>() !ValueError(builtins): invalid literal for int() with base 10: 'nan-order'
    ship(order=['tea']) !ValueError(builtins): invalid literal for int() with base 10: 'nan-order'
      pack(item='tea') -> None
        pick(item='tea') !OutOfStock(__main__): no tea left
          reserve(item='tea') !OutOfStock(__main__): no tea left"""
    assert run.tree["exception"] == {"type": "ValueError", "module": "builtins",
                                     "message": "invalid literal for int() with base 10: "
                                                "'nan-order'"}
    assert run.tree["exitCode"] == 1 and run.tree["ended"] == "exception"
    kinds = [(e["event"], e["function"]) for e in run.events if e["event"] != "ENTER"]
    assert kinds == [("EXCEPTION", "reserve"), ("EXCEPTION", "pick"), ("EXIT", "pack"),
                     ("EXCEPTION", "ship"), ("EXCEPTION", "<module>")]


def test_without_exception_details_the_calls_still_say_they_failed(python, tmp_path):
    run = traced(python, tmp_path, "failing.py", "--no-exception-details", status=1)
    lines = run.details().splitlines()
    if version_of(python) >= (3, 12):
        # sys.monitoring hands the exception to PY_UNWIND: the details cost nothing
        # there, and the option (documented for <= 3.11) leaves them in.
        assert lines[3] == "      pick(item='tea') !OutOfStock(__main__): no tea left"
    else:
        assert lines[3] == "      pick(item='tea') !None(None): None"
    # The uncaught exception still reaches the run and the root call.
    assert run.tree["exception"]["type"] == "ValueError"
    assert lines[1].startswith("  ship(order=['tea']) !ValueError(builtins)")


def test_generators_are_one_call_with_their_resumptions(python, tmp_path):
    run = traced(python, tmp_path, "gens.py")
    # close() (GeneratorExit thrown in at the yield, also when any() drops a generator
    # expression) ends a generator normally; throw() of another exception fails it. A
    # close() that only unwinds is not a resumption (3.12+ do not run such a frame at
    # all); guarded()'s finally runs code, so its close() is one on every version.
    assert run.details() == """\
[MainThread]
  main() -> 5
    squares(n=3) -> None resumes=3
      square(n=0) -> 0
      square(n=1) -> 1
      square(n=2) -> 4
    echo() closed resumes=1
    guarded() closed resumes=1
      square(n=9) -> 81
    main.<locals>.<genexpr>() closed resumes=1
    echo() !KeyError(builtins): 'x' resumes=1"""
    squares = run.thread()["calls"][0]["children"][0]["children"][0]
    assert 0 < squares["activeMicros"] <= squares["durationMicros"]
    assert [e["event"] for e in run.events if e["function"] == "squares"] == ["ENTER", "EXIT"]


def test_asyncio_tasks_nest_under_the_coroutine_that_started_them(python, tmp_path):
    run = traced(python, tmp_path, "tasks.py")
    assert run.details() == """\
[MainThread]
  main() -> ['A', 'B'] resumes=1
    fetch(name='a', delay=0.02) -> 'A' resumes=1
      parse(name='a') -> 'A'
    fetch(name='b', delay=0) -> 'B' resumes=1
      parse(name='b') -> 'B'"""
    # The two tasks ran at the same time: b finished while a was suspended.
    main = run.thread()["calls"][0]["children"][0]
    a, b = main["children"]
    end = lambda n: n["startMicros"] + n["durationMicros"]  # noqa: E731
    assert a["startMicros"] < b["startMicros"] < end(b) < end(a)


def test_callbacks_from_a_builtin_and_the_standard_library_appear_under_their_caller(
        python, tmp_path):
    run = traced(python, tmp_path, "callbacks.py")
    assert run.details() == """\
[MainThread]
  main() -> [['a', 'bb', 'ccc'], [1, 2]]
    by_length(word='ccc') -> 3
    by_length(word='a') -> 1
    by_length(word='bb') -> 2
    as_point(obj={'x': 1, 'y': 2}) -> [1, 2]"""


SCOPED = "scoped/main.py"
DEFAULT_SCOPE = """\
[MainThread]
  <module> main.py:1
    <module> apple.py:1
    <module> __init__.py:1
    <module> core.py:1
    main main.py:9
      run core.py:13
        run.<locals>.<genexpr> core.py:14
          quick core.py:4
          quick core.py:4
          quick core.py:4
        slow core.py:8
          quick core.py:4
      pick apple.py:1"""


@pytest.mark.parametrize("options,expected", [
    ((), DEFAULT_SCOPE),
    # `app` is app and app.x, not apple; the main script stays.
    (("--include", "app"), DEFAULT_SCOPE.replace("    <module> apple.py:1\n", "")
                                        .replace("\n      pick apple.py:1", "")),
    (("--exclude", "app.core.quick,apple"), """\
[MainThread]
  <module> main.py:1
    <module> __init__.py:1
    <module> core.py:1
    main main.py:9
      run core.py:13
        run.<locals>.<genexpr> core.py:14
        slow core.py:8"""),
    (("--exclude-path", "app/core.py"), """\
[MainThread]
  <module> main.py:1
    <module> apple.py:1
    <module> __init__.py:1
    main main.py:9
      pick apple.py:1"""),
    (("--include-path", "/nonexistent/"), """\
[MainThread]
  <module> main.py:1
    main main.py:9"""),
    (("--max-depth", "3"), "\n".join(DEFAULT_SCOPE.splitlines()[:7]) + "\n      pick apple.py:1"),
    # run and slow sleep for 0.3 s; everything else is far shorter than 0.1 s.
    (("--min-duration", "100000"), """\
[MainThread]
  <module> main.py:1
    main main.py:9
      run core.py:13
        slow core.py:8"""),
], ids=["default", "include", "exclude", "exclude-path", "include-path", "max-depth",
        "min-duration"])
def test_scope_options_choose_the_calls(python, tmp_path, options, expected):
    run = traced(python, tmp_path, SCOPED, *options, cwd=CAPTURE / "scoped")
    assert run.outline(skip=()) == expected


def test_all_traces_the_standard_library_too(python, tmp_path):
    run = traced(python, tmp_path, SCOPED, "--all", cwd=CAPTURE / "scoped")
    main = next(e for e in run.events if e["function"] == "main")
    under_main = [e for e in run.events if e["event"] == "ENTER" and e["parent"] == main["id"]]
    assert [(e["module"], e["function"]) for e in under_main] == [
        ("app.core", "run"), ("apple", "pick"), ("textwrap", "dedent")]
    assert {"re._parser", "enum"} <= {e["module"] for e in run.events}


def test_skip_inputs_and_outputs(python, tmp_path):
    run = traced(python, tmp_path, SCOPED, "--skip-inputs", cwd=CAPTURE / "scoped")
    assert "args" not in (run.path / "events.jsonl").read_text()
    assert run.details().splitlines()[2] == "    run() -> 7"
    (tmp_path / "o").mkdir()
    run = traced(python, tmp_path / "o", SCOPED, "--skip-outputs", cwd=CAPTURE / "scoped")
    assert '"result"' not in (run.path / "events.jsonl").read_text()
    assert run.details().splitlines()[2] == "    run(n=3)"


def test_memory_before_and_after_each_call(python, tmp_path):
    run = traced(python, tmp_path, "calls.py", "--with-memory")
    enter, exit_ = [e for e in run.events if e["function"] == "describe"][:2]
    for e in (enter, exit_):
        assert e["memory"]["rss"] > 1_000_000
        assert 0 < e["memory"]["tracemalloc"] <= e["memory"]["peak"]
    node = run.thread()["calls"][0]["children"][0]["children"][0]
    assert set(node["memory"]) == {"before", "after"}
    (tmp_path / "r").mkdir()
    run = traced(python, tmp_path / "r", "calls.py", "--with-memory", "--no-tracemalloc")
    e = next(e for e in run.events if e["function"] == "describe")
    assert e["memory"]["rss"] > 1_000_000 and e["memory"]["tracemalloc"] is None
    (tmp_path / "n").mkdir()
    run = traced(python, tmp_path / "n", "calls.py", "--with-memory", "--no-memory")
    assert "memory" not in (run.path / "events.jsonl").read_text()


def test_jsonl_mirrored_to_stdout_and_a_logfile(python, tmp_path):
    log = tmp_path / "events.log"
    proc, [run] = trace(python, [CAPTURE / "callbacks.py"], tmp_path,
                        wrapper_args=["--stdout", "--logfile", log])
    assert proc.returncode == 0
    events = (run.path / "events.jsonl").read_text()
    assert proc.stdout == events
    assert log.read_text() == events
    # Where lines of several processes meet, each names its run (format 4).
    assert {json.loads(line)["run"] for line in events.splitlines()} == {run.tree["run"]}


def test_environment_variables_work_under_a_bare_preload(python, tmp_path):
    env = clean_env(FLOWTRACE_PACKAGE_PREFIX="app", FLOWTRACE_EXCLUDE="app.core.slow",
                    FLOWTRACE_MAX_ARG_LENGTH="3", FLOWTRACE_SKIP_OUTPUTS="1")
    proc = preload(python, [CAPTURE / SCOPED], tmp_path, env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    [run] = runs_in(tmp_path / "out")
    # slow is left out; the quick it calls is kept, under run.
    assert [e["function"] for e in run.events if e["event"] == "ENTER"][-6:] == [
        "run", "run.<locals>.<genexpr>", "quick", "quick", "quick", "quick"]
    last = [e for e in run.events if e["function"] == "quick" and e["event"] == "ENTER"][-1]
    assert next(e for e in run.events if e["id"] == last["parent"])["function"] == "run"
    quick = next(e for e in run.events if e["function"] == "quick")
    assert quick["args"] == {"i": 0} and "result" not in quick
    run_enter = next(e for e in run.events if e["function"] == "run")
    assert run_enter["args"] == {"n": 3}


def test_a_bad_environment_value_leaves_the_program_untraced_and_says_why(python, tmp_path):
    env = clean_env(FLOWTRACE_MAX_DEPTH="deep")
    proc = preload(python, ["-c", "print('hi')"], tmp_path, env=env)
    assert (proc.returncode, proc.stdout) == (0, "hi\n")
    assert proc.stderr.count("\n") == 1 and "FLOWTRACE_MAX_DEPTH" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_help_lists_every_option_with_its_environment_variable():
    proc = subprocess.run([RUN, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for opt, var in [("--include", "FLOWTRACE_INCLUDE"), ("--exclude", "FLOWTRACE_EXCLUDE"),
                     ("--include-path", "FLOWTRACE_INCLUDE_PATH"),
                     ("--exclude-path", "FLOWTRACE_EXCLUDE_PATH"), ("--all", "FLOWTRACE_ALL"),
                     ("--c-calls", "FLOWTRACE_C_CALLS"), ("--max-depth", "FLOWTRACE_MAX_DEPTH"),
                     ("--min-duration", "FLOWTRACE_MIN_DURATION"),
                     ("--max-arg-length", "FLOWTRACE_MAX_ARG_LENGTH"), ("--repr", "FLOWTRACE_REPR"),
                     ("--skip-inputs", "FLOWTRACE_SKIP_INPUTS"),
                     ("--skip-outputs", "FLOWTRACE_SKIP_OUTPUTS"), ("--redact", "FLOWTRACE_REDACT"),
                     ("--flush-interval", "FLOWTRACE_FLUSH_INTERVAL"),
                     ("--flush-every-call", "FLOWTRACE_FLUSH_EVERY_CALL"),
                     ("--log-flushes", "FLOWTRACE_LOG_FLUSHES"),
                     ("--with-memory", "FLOWTRACE_WITH_MEMORY"),
                     ("--no-memory", "FLOWTRACE_NO_MEMORY"),
                     ("--no-tracemalloc", "FLOWTRACE_NO_TRACEMALLOC"),
                     ("--stdout", "FLOWTRACE_STDOUT"), ("--logfile", "FLOWTRACE_LOGFILE"),
                     ("--drop", "FLOWTRACE_DROP"), ("--no-children", "FLOWTRACE_CHILDREN")]:
        block = proc.stdout[proc.stdout.index("  " + opt + " "):]
        assert var in block[:block.index("\n  -", 1)], opt


def test_builtin_calls_on_request(python, tmp_path):
    run = traced(python, tmp_path, "callbacks.py", "--c-calls")
    assert run.details() == """\
[MainThread]
  main() -> [['a', 'bb', 'ccc'], [1, 2]]
    sorted()
      by_length(word='ccc') -> 3
        len()
      by_length(word='a') -> 1
        len()
      by_length(word='bb') -> 2
        len()
    join()
    as_point(obj={'x': 1, 'y': 2}) -> [1, 2]"""
    # A builtin is named after what owns it: its module, or the type of a method.
    owners = {(e["module"], e["function"]) for e in run.events if e.get("file") == "<builtin>"}
    assert owners == {("builtins", "sorted"), ("builtins", "len"), ("str", "join")}


def test_flush_every_call_and_log_flushes(python, tmp_path):
    proc, [run] = trace(python, [CAPTURE / "callbacks.py"], tmp_path,
                        wrapper_args=["-q", "--flush-every-call", "--log-flushes"])
    assert proc.returncode == 0
    flushes = proc.stderr.splitlines()
    assert all(re.fullmatch(r"flowtrace\[\d+\]: flush #\d+: \d+ bytes of thread MainThread "
                            r"to the writer", line) for line in flushes), flushes
    # A shipment after every event: at least one per call and one per return.
    assert len(flushes) >= len(run.events)
    assert run.details().splitlines()[1] == "  main() -> [['a', 'bb', 'ccc'], [1, 2]]"


def test_ints_of_every_size_and_what_only_looks_like_one(python, tmp_path):
    # Ints that fit 64 bits travel as 8 bytes (read from their digits in place) and the
    # writer renders them; the rest are rendered in the process. Both read alike.
    run = traced(python, tmp_path, "ints.py")
    assert run.details() == """\
[MainThread]
  main() -> None
    add(a=0, b=-1) -> -1
    add(a=1073741823, b=1) -> 1073741824
    add(a=1152921504606846975, b=1) -> 1152921504606846976
    add(a=4611686018427387904, b=4611686018427387903) -> 9223372036854775807
    neg(x=-9223372036854775808) -> 9223372036854775808
    add(a=1000000000000000000000000000000, b=1) -> 1000000000000000000000000000001
    flag(on=True) -> False
    neg(x=<__main__.Level object at 0x…>) -> -3
    Counter.step(by=5, times=-2) -> -10 @obj1"""


PLAIN = """\
[MainThread]
  main() -> None
    nothing() -> None
    fib(n=3) -> 2
      fib(n=2) -> 1
        fib(n=1) -> 1
        fib(n=0) -> 0
      fib(n=1) -> 1
    eight(a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=-8) -> 20
    nine(a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=8, i=9) -> 45
    keywords(a=3, b=2) -> 6
    keywords(a=3, b=-1) -> -3
    rebinds(n=5) -> 2 after(n=[5, 0])
    renames(n=12) -> 2
    measures(s='abc') -> 3
    deletes(n=4) -> 1
    captured(n=6) -> 6
      captured.<locals>.<lambda>() -> 6
    counts(items=[], n=2) -> 2 after(items=[2])
    keywords(a=1099511627776, b=2) -> 2199023255552
    fib(n=-2305843009213693952) -> -2305843009213693952"""


def test_plain_int_functions_read_as_with_every_setting(python, tmp_path):
    # Calls of plain functions of small ints take the library's fast path; with
    # --flush-every-call every call takes the general one. Both record the same.
    (tmp_path / "fast").mkdir()
    (tmp_path / "general").mkdir()
    fast = traced(python, tmp_path / "fast", "plain.py")
    general = traced(python, tmp_path / "general", "plain.py", "--flush-every-call")

    def after_warm_up(text):
        lines, skipping = [], False
        for line in text.splitlines():
            skipping = line.startswith("    warm_up()") or (skipping and line.startswith(" " * 6))
            if not skipping:
                lines.append(line)
        return "\n".join(lines)

    assert after_warm_up(fast.details()) == PLAIN
    assert fast.details() == general.details()
    fields = ("event", "function", "args", "result", "argsAfter")
    assert ([tuple(e.get(f) for f in fields) for e in fast.events] ==
            [tuple(e.get(f) for f in fields) for e in general.events])


RECORD_KINDS = {0x01: "CALL", 0x02: "RETURN", 0x41: "ARGS", 0x42: "RESULT",
                0x44: "ARGS_AFTER", 0x49: "RESULT_INT", 0x4a: "ARGS_INTS", 0x4d: "RESULT_JSON",
                0x4e: "CALL_INTS", 0x4f: "RETURN_INT"}


def journal_records(raw):
    """The records of a saved stream (raw.ftb, docs/format.md "The wire"), one list per
    event: its function's name, its kind, then the kinds of the value records after it."""
    data, pos, names, out = raw.read_bytes(), 0, {}, []
    while pos < len(data):
        _, frame, _, n, _ = struct.unpack_from("<IHHII", data, pos)
        body, pos, at = data[pos + 16:pos + 16 + n], pos + 16 + n, 0
        while frame == 4 and at < n:  # DEFS
            code, _, _, module, name, file, params = struct.unpack_from("<QIIIIII", body, at)
            names[code] = body[at + 32 + module:at + 32 + module + name].decode()
            at += 32 + (module + name + file + params + 7) // 8 * 8
        while frame == 5 and at < n:  # EVENTS
            w0, = struct.unpack_from("<Q", body, at)
            kind, payload, code = w0 & 0xff, w0 >> 8, None
            if kind >= 0x40:
                size = 8 + (payload + 7) // 8 * 8
                if kind in (0x4e, 0x4f):  # whole events (1.9): the code id comes next
                    code, = struct.unpack_from("<Q", body, at + 8)
            else:
                size, code = 16 if kind < 0x20 else 24, payload
            if code is not None:
                out.append([names[code], RECORD_KINDS.get(kind, hex(kind))])
            else:
                out[-1].append(RECORD_KINDS.get(kind, hex(kind)))
            at += size
    return out


def test_a_call_of_ints_and_its_return_each_travel_as_one_record(python, tmp_path):
    # Wire 1.9: a call of a plain function whose arguments are ints (or that takes none)
    # is one CALL_INTS record, its int result one RETURN_INT, so the writer has each
    # event whole when it arrives. A value record still follows where one must: a
    # parameter changed in place (ARGS_AFTER), a result that is not an int. The fast
    # path and the general one (--flush-every-call) send the same records.
    journals = {}
    for how, options in (("fast", ()), ("general", ("--flush-every-call",))):
        (tmp_path / how).mkdir()
        run = traced(python, tmp_path / how, "plain.py", "--keep-raw", *options)
        journals[how] = journal_records(run.path / "raw.ftb")
    assert journals["fast"] == journals["general"]
    sent = {}
    for name, *kinds in journals["fast"]:
        sent.setdefault(name, set()).add(" ".join(kinds))
    assert sent == {
        "<module>": {"CALL_INTS", "RETURN RESULT_JSON"},
        "main": {"CALL_INTS", "RETURN RESULT_JSON"},
        "warm_up": {"CALL_INTS", "RETURN RESULT_JSON"},
        "nothing": {"CALL_INTS", "RETURN RESULT_JSON"},
        "fib": {"CALL_INTS", "RETURN_INT"},
        "eight": {"CALL_INTS", "RETURN_INT"},
        "nine": {"CALL ARGS", "RETURN_INT"},          # more ints than the int path takes
        "keywords": {"CALL_INTS", "RETURN_INT"},
        "rebinds": {"CALL_INTS", "RETURN RESULT_INT ARGS_AFTER"},
        "renames": {"CALL_INTS", "RETURN_INT"},
        "measures": {"CALL ARGS", "RETURN_INT"},
        "deletes": {"CALL_INTS", "RETURN_INT"},
        "captured": {"CALL ARGS", "RETURN_INT"},      # n lives in a cell
        "captured.<locals>.<lambda>": {"CALL_INTS", "RETURN_INT"},
        "counts": {"CALL ARGS", "RETURN RESULT_INT ARGS_AFTER"},
    }
    assert sum(kinds == ["fib", "CALL_INTS"] for kinds in journals["fast"]) == 73


SHARED = [p for p in sorted(Path.home().glob(".pyenv/versions/3.1*/bin/python3"))
          if re.match(r"3\.1[2-9]", p.parent.parent.name)]


@pytest.mark.parametrize("python", INTERPRETERS + [
    pytest.param(str(p), id="shared-" + p.parent.parent.name) for p in SHARED])
def test_threads_take_the_fast_path_reading_their_own_state(python, tmp_path):
    # From 3.12 the fast path reads the thread state from the interpreter's thread-local
    # at an offset from the thread pointer, found at activation in the executable's
    # PyThreadState_GetUnchecked or (a shared libpython, as pyenv builds it) through
    # __tls_get_addr, and checked in every thread as it starts. Each thread's calls read
    # as the general path (--flush-every-call) reads them.
    runs = {}
    for how, options in (("fast", ()), ("general", ("--flush-every-call",))):
        (tmp_path / how).mkdir()
        proc, [runs[how]] = trace(python, [CAPTURE / "threads_ints.py"], tmp_path / how,
                                  wrapper_args=options, env=clean_env(FLOWTRACE_DEBUG="1"))
        assert proc.returncode == 0, proc.stderr
        balanced(runs[how].events)
    if version_of(python) >= (3, 12):
        assert "thread state's frame ok, in place" in proc.stderr
    details = runs["fast"].details()
    assert details == runs["general"].details()
    assert "[worker-3]\n  worker(n=3) -> None\n    fib(n=3) -> 2\n" in details
    assert "[worker-4]\n  worker(n=4) -> None\n    fib(n=4) -> 3\n" in details


def test_a_trace_function_of_the_programs_own_is_left_alone(python, tmp_path):
    # Up to 3.11 exception details come from a trace function FlowTrace sets while an
    # exception unwinds. It asks first whether another one is set (only once the program
    # has called sys.settrace), and leaves that one be: the program's tracer sees what it
    # saw untraced, and FlowTrace records the fact of the exception without its details.
    program = CAPTURE / "own_tracer.py"
    plain = subprocess.run([python, program], capture_output=True, text=True, env=clean_env())
    assert plain.stdout == "[('fail', 'ValueError'), ('catch', 'ValueError')]\n"
    proc, [run] = trace(python, [program], tmp_path)
    assert (proc.returncode, proc.stdout) == (0, plain.stdout)
    middle = "!ValueError(builtins): boom" if version_of(python) >= (3, 12) else "!None(None): None"
    assert run.details().splitlines()[2:] == [
        "    catch() -> 'caught'",
        "      fail(x='boom') !ValueError(builtins): boom",
        "    catch() -> 'caught'",
        "      fail(x='boom') " + middle,
        "    catch() -> 'caught'",
        "      fail(x='boom') !ValueError(builtins): boom"]
