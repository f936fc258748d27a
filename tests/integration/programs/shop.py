"""FlowTrace's demo: a coffee shop taking one order (the seeds' sample, reworked)."""
import argparse
from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float


class Inventory:
    def __init__(self):
        self.stock = {}

    def add(self, name, count):
        self.stock[name] = self.stock.get(name, 0) + count
        return self.stock[name]

    def take(self, name, count):
        if self.stock.get(name, 0) < count:
            raise ValueError(f"only {self.stock.get(name, 0)} {name} left")
        self.stock[name] -= count
        return self.stock[name]


class PricingService:
    DISCOUNTS = {"gold": 0.2, "silver": 0.1}

    def __init__(self, tier):
        self.tier = tier

    def discount(self, amount):
        return round(amount * self.DISCOUNTS.get(self.tier, 0.0), 2)

    def total(self, items, tax):
        subtotal = sum(item.price for item in items)
        return round((subtotal - self.discount(subtotal)) * (1 + tax), 2)


class OrderService:
    def __init__(self, inventory, pricing):
        self.inventory = inventory
        self.pricing = pricing

    def order(self, customer, wanted, tax):
        items = []
        for name, count in wanted.items():
            try:
                self.inventory.take(name, count)
            except ValueError as err:
                print(f"{customer}: skipping {name}: {err}")
                continue
            items.extend(Item(name, MENU[name]) for _ in range(count))
        return self.pricing.total(items, tax)


MENU = {"coffee": 2.5, "cake": 4.0, "tea": 1.8}


def seed_inventory():
    inv = Inventory()
    inv.add("coffee", 20)
    inv.add("cake", 2)
    return inv


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--customer", default="ana")
    p.add_argument("--tier", default="gold", choices=["gold", "silver", "none"])
    p.add_argument("--coffee", type=int, default=1)
    p.add_argument("--cake", type=int, default=3)
    p.add_argument("--tax", type=float, default=0.21)
    return p.parse_args()


def main():
    args = parse_args()
    service = OrderService(seed_inventory(), PricingService(args.tier))
    total = service.order(args.customer, {"coffee": args.coffee, "cake": args.cake}, args.tax)
    print(f"{args.customer} pays {total:.2f}")


if __name__ == "__main__":
    main()
