"""An exception raised three frames deep and caught one frame up; then one uncaught."""


class OutOfStock(Exception):
    pass


def reserve(item):
    raise OutOfStock(f"no {item} left")


def pick(item):
    return reserve(item)


def pack(item):
    try:
        return pick(item)
    except OutOfStock:
        return None


def ship(order):
    for item in order:
        pack(item)
    return int("nan-order")


ship(["tea"])
