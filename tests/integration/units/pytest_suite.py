import pytest


def helper(x):
    if x > 1:
        raise ValueError("too big: %d" % x)
    return x


def test_pass():
    assert helper(1) == 1


def test_fail():
    assert helper(2) == 2


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_error(broken):
    pass


@pytest.mark.skip(reason="not today")
def test_skip():
    pass
