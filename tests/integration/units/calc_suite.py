"""A test that passes or fails by its input (flowtrace diff's real pair), and one that
fails only when CALC_BROKEN is set (the same test, passing in one run and failing in
another)."""
import os

import pytest


def parse(text):
    return [int(x) for x in text.split(",")]


def average(values):
    return sum(values) / len(values)


def report(text):
    values = parse(text)
    if not values or min(values) < 0:
        raise ValueError("negative value in %r" % text)
    return round(average(values), 2)


@pytest.mark.parametrize("text", ["1,2,3", "4,-5,6"])
def test_report(text):
    assert report(text) > 0


def scale(values):
    factor = 0 if os.environ.get("CALC_BROKEN") else 2
    return [v // factor for v in values]


def test_scale():
    assert scale(parse("2,4")) == [1, 2]
