"""Values of every kind, each passed to case(name, v) and returned: test_typed.py reads
how each was recorded (format 3: typed JSON values)."""
import enum


class Color(enum.IntEnum):
    RED = 1


class Order:
    def __init__(self, amount):
        self.amount = amount

    def __repr__(self):
        return f"Order({self.amount})"


def case(name, v):
    return v


def ints(a, b):
    return a


def pay(amount, card, password):
    return {"ok": True, "amount": amount}


CASES = [
    ("none", None), ("true", True), ("false", False),
    ("int", 115), ("int_53", 2**53 - 1), ("int_neg_53", -(2**53 - 1)),
    ("int_over_53", 2**53), ("int_huge", 2**70),
    ("float_1", 1.0), ("float_neg0", -0.0), ("float_tenth", 0.1), ("float_1e16", 1e16),
    ("float_nan", float("nan")), ("float_inf", float("-inf")),
    ("str_quotes", 'say "hi"'), ("str_apostrophe", "it's"), ("str_control", "a\nb\x01c\t"),
    ("str_unicode", "café €"), ("str_surrogate", "\ud800"),
    ("bytes", b"by\x00tes"), ("bytearray", bytearray(b"x")),
    ("nested", [1, (2, 3), {"k": [None, 2.5]}]), ("tuple_1", (1,)), ("empty", ([], {}, ())),
    ("dict_int_keys", {1: "a"}), ("dict_repr_key", {"repr": 1}), ("set", {1}),
    ("deep", [[[[[1]]]]]),
    ("enum", Color.RED), ("object", Order(5)),
    ("dict_with_object", {"user": "ana", "order": Order(7)}),
    ("str_long", "x" * 3000), ("list_long", list(range(2000))),
    ("secret_key", {"user": "ana", "token": "s3cr3t"}),
    ("secret_text", "token=abc&page=2"),
]


def main():
    for name, v in CASES:
        case(name, v)
    ints(2**53, -5)
    pay(115, "4111-1111", "hunter2")


main()
