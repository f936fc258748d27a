"""The code under test of the pytest workload: a small inventory with pricing rules."""


class OutOfStock(Exception):
    pass


class Inventory:
    def __init__(self):
        self.items = {}

    def add(self, sku, count, price):
        entry = self.items.setdefault(sku, {"count": 0, "price": price})
        entry["count"] += count
        return entry["count"]

    def take(self, sku, count):
        entry = self.items.get(sku)
        if entry is None or entry["count"] < count:
            raise OutOfStock(sku)
        entry["count"] -= count
        return entry["count"]

    def value(self):
        return sum(price_of(e) for e in self.items.values())


def price_of(entry):
    return round(entry["count"] * discounted(entry["price"], entry["count"]), 2)


def discounted(price, count):
    if count >= 100:
        return price * 0.9
    if count >= 10:
        return price * 0.95
    return price


def restock(inv, plan):
    for sku, count, price in plan:
        inv.add(sku, count, price)
    return inv.value()
