def price(prices, name):
    return round(prices[name], 2)


def check_stock(inv, name):
    if name not in inv.items:
        raise KeyError(name)
