"""A small inventory program: classes, a helper module, nested calls, a caught error."""
import json
import sys

from pkg import pricing


class Inventory:
    def __init__(self):
        self.items = {}

    def add(self, item, count):
        self.items[item] = self.items.get(item, 0) + count
        return self.items[item]

    def total(self, prices):
        return sum(pricing.price(prices, name) * n for name, n in self.items.items())


def load_prices():
    return json.loads('{"coffee": 2.5, "cake": 4.0}')


def checkout(inv):
    try:
        pricing.check_stock(inv, "tea")
    except KeyError:
        pass
    return inv.total(load_prices())


def main():
    inv = Inventory()
    inv.add("coffee", 2)
    inv.add("cake", 1)
    print(f"total={checkout(inv):.2f}", *sys.argv[1:])


main()
