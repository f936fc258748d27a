"""A checkout that fails: a worker thread prices each cart, the main thread charges it, and
the second charge raises an uncaught exception (the viewer's time-travel tests)."""
import threading


def price(item, qty):
    return {"tea": 2, "cake": 4}[item] * qty


def subtotal(cart):
    return sum(price(item, qty) for item, qty in cart.items())


def worker(cart, out):
    out.append(subtotal(cart))


def charge(card, amount):
    if amount > 10:
        raise ValueError(f"card {card} declined for {amount}")
    return "ok"


def checkout(card, cart):
    out = []
    pricer = threading.Thread(target=worker, args=(cart, out), name="pricer")
    pricer.start()
    pricer.join()
    return charge(card, out[0])


def main():
    print(checkout("visa-1", {"tea": 1}))
    print(checkout("visa-2", {"tea": 1, "cake": 3}))


main()
