"""The pytest workload of `make bench`: 240 small tests of inventory.py, a few failing
on purpose (a suite with failures is what FlowTrace is for)."""
import pytest

from inventory import Inventory, OutOfStock, restock


@pytest.mark.parametrize("n", range(200))
def test_restock_values_the_stock(n):
    inv = Inventory()
    plan = [(f"sku{i}", i % 17 + n % 5, 1.5 + i % 3) for i in range(20)]
    assert restock(inv, plan) > 0


@pytest.mark.parametrize("n", range(30))
def test_taking_more_than_there_is_raises(n):
    inv = Inventory()
    inv.add("a", n, 2.0)
    with pytest.raises(OutOfStock):
        inv.take("a", n + 1)


@pytest.mark.parametrize("n", range(10))
def test_a_failing_expectation(n):
    inv = Inventory()
    inv.add("b", 5, 1.0)
    assert inv.take("b", n) == 5 - n - 1  # fails: off by one on purpose
