"""Exception-heavy: parsing where every third value fails and is caught a frame up."""


class ParseError(Exception):
    pass


def parse_int(text):
    if not text.isdigit():
        raise ParseError(f"not a number: {text!r}")
    return int(text)


def parse_or_default(text, default=0):
    try:
        return parse_int(text)
    except ParseError:
        return default


def lookup(table, key):
    try:
        return table[key]
    except KeyError:
        return None


def main():
    values = [str(i) if i % 3 else f"x{i}" for i in range(300_000)]
    table = {str(i): i for i in range(0, 1000, 2)}
    total = 0
    for v in values:
        total += parse_or_default(v)
    for i in range(100_000):
        if lookup(table, str(i % 1000)) is None:
            total += 1
    print(total)


main()
