"""The Python readers' shown() (python/flowtrace/values.py, tests/integration/values.py)
over the cases every reader is tested on (tests/values/cases.tsv)."""
import json
from pathlib import Path

import pytest

from values import shown, shown_args

CASES = Path(__file__).resolve().parents[1] / "values" / "cases.tsv"


def _cases():
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text, want = line.split("\t", 1)
            yield pytest.param(text, want, id=text[:40])


@pytest.mark.parametrize("text,want", list(_cases()))
def test_a_format_3_value_shows_as_the_python_repr_it_stands_for(text, want):
    assert shown(json.loads(text)) == want


def test_a_format_2_value_is_its_repr_already():
    assert shown("'ana'", format=2) == "'ana'"
    assert shown("115", format=1) == "115"
    assert shown_args({"a": "'x'", "b": "[1]"}, format=2) == {"a": "'x'", "b": "[1]"}


def test_a_call_s_arguments_show_one_by_one():
    assert shown_args({"name": "ana", "n": 2, "o": {"type": "app.O", "repr": "<app.O>"}}) == \
        {"name": "'ana'", "n": "2", "o": "<app.O>"}
    assert shown_args(None) == {}
