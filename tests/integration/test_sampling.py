"""--sample RATE (FLOWTRACE_SAMPLE): the trees of that fraction of the units that did not
fail are kept, every failed unit's tree always, and every unit keeps its units.jsonl line
and index row; a unit kept by nothing leaves no file behind, not even a directory."""
import json
import sqlite3

from conftest import clean_env, trace
from pathlib import Path

HERE = Path(__file__).parent / "units"
FAILED = {i + 1 for i in range(200) if i % 10 == 3}  # unit ids of the failing calls


def sampled(tmp_path, python, *wrapper_args, **env):
    proc, [run] = trace(python, [HERE / "sample_jobs.py"], tmp_path,
                        wrapper_args=["--unit", "__main__:job", *wrapper_args],
                        env=clean_env(**env))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"
    units = [json.loads(line) for line in open(run.path / "units.jsonl")]
    assert len(units) == 200  # every unit has its line
    kept = {u["unit"] for u in units if u["tree"] is not None}
    on_disk = {int(p.name) for p in (run.path / "units").iterdir()}
    assert on_disk == kept  # nothing left of the others
    for u in units:
        assert (u["outcome"] == "failed") == (u["unit"] in FAILED)
    with sqlite3.connect(run.path.parent / "index.sqlite") as db:
        rows = db.execute("SELECT unit_id, tree FROM units WHERE run_id = ?",
                          (run.tree["run"],)).fetchall()
    assert sorted(r[0] for r in rows) == list(range(1, 201))
    assert {r[0] for r in rows if r[1] is not None} == kept
    return kept


def test_sample_0_keeps_only_the_failed_units(python, tmp_path):
    assert sampled(tmp_path, python, FLOWTRACE_SAMPLE="0") == FAILED  # CI unset: keep all


def test_the_wrappers_sample_option_is_the_variable(python, tmp_path):
    assert sampled(tmp_path, python, "--sample", "0") == FAILED


def test_sample_1_keeps_every_unit_even_under_ci(python, tmp_path):
    assert sampled(tmp_path, python, FLOWTRACE_SAMPLE="1", CI="1") == set(range(1, 201))


def test_sample_keeps_about_that_fraction_of_the_rest(python, tmp_path):
    kept = sampled(tmp_path, python, FLOWTRACE_SAMPLE="0.25", CI="1")
    assert FAILED <= kept
    # 180 passing units at 0.25: 45 expected (σ ≈ 5.8); far outside this is a bug.
    assert 15 <= len(kept - FAILED) <= 80, len(kept - FAILED)


def test_a_bad_rate_is_said_and_keep_decides(tmp_path):
    proc, [run] = trace("/usr/bin/python3", [HERE / "sample_jobs.py"], tmp_path,
                        wrapper_args=["--unit", "__main__:job"],
                        env=clean_env(FLOWTRACE_SAMPLE="half", CI="1"))
    assert proc.returncode == 0
    assert "bad FLOWTRACE_SAMPLE 'half'" in proc.stderr
    units = [json.loads(line) for line in open(run.path / "units.jsonl")]
    assert {u["unit"] for u in units if u["tree"]} == FAILED  # CI: --keep failed
