"""Every kind of parameter, methods of each kind, a mutated argument, a secret."""


def describe(a, b=2, *rest, sep="-", **extra):
    return sep.join(map(str, (a, b, *rest, *sorted(extra))))


class Basket:
    def __init__(self, owner):
        self.owner = owner
        self.items = []

    def put(self, item, qty=1, *, gift=False):
        self.items.append((item, qty, gift))
        return len(self.items)

    @classmethod
    def empty(cls, owner):
        return cls(owner)

    @staticmethod
    def tax(amount):
        return round(amount * 0.21, 2)


def fill(bag, n):
    bag.extend(range(n))


def login(user, password, api_key=None):
    return f"{user}:ok"


def main():
    describe(1)
    describe(1, "two", 3.5, None, sep="+", x=b"\x00y", y=True)
    basket = Basket.empty("ana")
    basket.put("tea")
    basket.put("cake", 2, gift=True)
    Basket.tax(10)
    bag = [0]
    fill(bag, 2)
    login("ana", "hunter2", api_key="k-123")


main()
