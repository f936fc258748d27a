"""Where and why it failed: every call an exception left records where the exception was
raised (also inside C code, also when it was caught further up), the chain of its
causes, the line the frame was at when the exception left it, and the frame's locals,
read without side effects and rendered as arguments are. One set of expected values for
3.11 (both builds), 3.13 and 3.14."""
import hashlib
import shutil
import subprocess

from values import shown_args

from conftest import CLI, PROGRAMS, balanced, clean_env, trace

POSTMORTEM = PROGRAMS / "postmortem.py"


def nodes(run):
    """Every node of the run's tree, in order."""
    out = []

    def walk(node):
        out.append(node)
        for c in node["children"]:
            walk(c)

    for t in run.tree["threads"]:
        for n in t["calls"]:
            walk(n)
    return out


def failed_calls(run):
    out = []
    for node in nodes(run):
        if "exception" in node:
            e = node["exception"]
            raised = node.get("raise") or {}
            out.append((node["function"], e["type"], raised.get("file", "").rsplit("/", 1)[-1],
                        raised.get("line"),
                        [(c["type"], c["line"], c["via"]) for c in node.get("cause", [])],
                        node.get("leftAt"),
                        shown_args(node["locals"]) if "locals" in node else None))
    return out


EXPECTED = [
    # parse() raised inside C (int()): the raise site is the Python line that called it.
    ("parse", "ValueError", "postmortem.py", 8, [], 8,
     {"text": "'xcfg'", "api_key": "<redacted>", "width": "4"}),  # as shown
    ("load", "RuntimeError", "postmortem.py", 16, [("ValueError", 8, "cause")], 16,
     {"path": "'cfg'", "data": "'xcfg'"}),
    # Caught further up (swallowed): still where and why.
    ("check", "KeyError", "postmortem.py", 21, [], 21, {"n": "5"}),
    ("check", "KeyError", "postmortem.py", 21, [], 21, {"n": "9"}),
    # Thrown into the context manager's generator at its yield: raised in check().
    ("guard", "KeyError", "postmortem.py", 21, [], 34, {"name": "'g'"}),
    ("inside", "KeyError", "postmortem.py", 21, [], 39, None),
]


def test_raise_site_causes_line_left_and_locals_of_every_failed_call(python, tmp_path):
    proc, [run] = trace(python, [POSTMORTEM], tmp_path)
    assert proc.returncode == 0, proc.stderr
    balanced(run.events)
    assert sorted(failed_calls(run), key=str) == sorted(EXPECTED, key=str)
    # The same in events.jsonl's EXCEPTION lines.
    [load] = [e for e in run.events if e["event"] == "EXCEPTION" and e["function"] == "load"]
    assert load["leftAt"] == 16 and load["locals"] == {"path": "cfg", "data": "xcfg"}
    assert load["raise"]["line"] == 16 and load["cause"][0]["type"] == "ValueError"
    assert "k-123" not in (run.path / "events.jsonl").read_text()


def test_no_locals_leaves_them_out(python, tmp_path):
    proc, [run] = trace(python, [POSTMORTEM], tmp_path, wrapper_args=["--no-locals"])
    assert proc.returncode == 0, proc.stderr
    # Everything else is as with locals.
    assert sorted(failed_calls(run), key=str) == sorted(
        [e[:6] + (None,) for e in EXPECTED], key=str)


GENERATED = PROGRAMS / "generated.py"


def test_generated_code_is_out_of_the_default_scope(python, tmp_path):
    # attrs' file-less module code was shown as "<module> ×43  :1" (3.11, dist-packages).
    proc, [run] = trace(python, [GENERATED], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(n["function"] for n in nodes(run)) == ["<module>", "main", "make_init"]


def test_generated_code_traced_is_named_by_its_function_and_marked(python, tmp_path):
    proc, [run] = trace(python, [GENERATED], tmp_path, wrapper_args=["--include", "__main__"])
    assert proc.returncode == 0, proc.stderr
    # The text's module code (exec) and the method it defined, named after its class.
    gen = [(n["function"], n["module"], n["file"]) for n in nodes(run) if n.get("generated")]
    assert gen == [("<module>", "__main__", "<generated init Point>"),
                   ("Point.__init__", "__main__", "<generated init Point>")]
    [init] = [n for n in nodes(run) if n["function"] == "Point.__init__"]
    [enter] = [e for e in run.events if e["event"] == "ENTER" and e["id"] == init["id"]]
    assert enter["function"] == "Point.__init__" and enter["generated"] is True


def test_file_less_code_traced_with_all_is_marked(python, tmp_path):
    proc, [run] = trace(python, [GENERATED], tmp_path, wrapper_args=["--all"])
    assert proc.returncode == 0, proc.stderr
    fileless = [n for n in nodes(run) if n["file"] == ""]
    assert fileless and all(n.get("generated") is True for n in fileless)


def test_source_kept_with_the_run_is_shown_after_the_checkout_is_gone(python, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(POSTMORTEM, app / "postmortem.py")
    text = (app / "postmortem.py").read_bytes()
    proc, [run] = trace(python, [app / "postmortem.py"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    # Only the files with traced calls (not the standard library's), by content hash.
    sha = hashlib.sha256(text).hexdigest()
    assert run.tree["sources"] == {str(app / "postmortem.py"): sha}
    assert (run.path / "sources" / sha).read_bytes() == text
    shutil.rmtree(app)
    show = subprocess.run([str(CLI), "-d", str(tmp_path / "out"), "show", "--source",
                           "--color", "never"], capture_output=True, text=True,
                          env=clean_env(), timeout=60)
    assert show.returncode == 0, show.stderr
    assert '↳ 16 │ raise RuntimeError("cannot load " + path) from e' in show.stdout
    assert "↳ 8 │ return int(text)" in show.stdout


def test_a_unit_alone_shows_the_source_kept_with_its_run(tmp_path):
    # A unit's tree has no "sources" map: `show --unit X --source` read the files on disk.
    app = tmp_path / "app.py"
    app.write_text("def job(n):\n    raise ValueError('kept %d' % n)\n\n\n"
                   "try:\n    job(1)\nexcept ValueError:\n    pass\n")
    proc, [run] = trace("/usr/bin/python3", [app], tmp_path,
                        wrapper_args=["--unit", "__main__:job"])
    assert proc.returncode == 0, proc.stderr
    app.write_text("# the checkout moved on\n" * 5)
    for args in (["--unit", "1"], ["--failed"]):
        show = subprocess.run([str(CLI), "-d", str(tmp_path / "out"), "show", "--source",
                               "--color", "never", *args], capture_output=True, text=True,
                              env=clean_env(), timeout=60)
        assert show.returncode == 0, show.stderr
        assert "raise ValueError('kept %d' % n)" in show.stdout, show.stdout
        assert "checkout moved on" not in show.stdout


def test_a_frame_left_through_cleanup_code_is_left_where_the_exception_passed(python, tmp_path):
    # 3.11's profile function sees the frame when the finally block or the bare raise
    # has run; its traceback says where the exception passed, as 3.13+ report it.
    proc, [run] = trace(python, [PROGRAMS / "finally.py"], tmp_path)
    assert proc.returncode == 1 and "ValueError: x" in proc.stderr
    left = [(n["function"], n["leftAt"]) for n in nodes(run) if "exception" in n]
    assert left == [("<module>", 41), ("through_finally", 13), ("boom", 8),
                    ("reraised", 21), ("boom", 8), ("with_block", 29), ("boom", 8),
                    ("through_finally", 13), ("boom", 8)]
