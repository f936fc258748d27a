"""A suite long enough that a disk filling early leaves most tests still to run: 150
tests, each making some calls; every 50th (7, 57, 107) fails."""
import pytest


def work(i, depth):
    return i if depth == 0 else work(i, depth - 1) + 1


@pytest.mark.parametrize("i", range(150))
def test_n(i):
    for _ in range(20):
        work(i, 10)
    assert i % 50 != 7
