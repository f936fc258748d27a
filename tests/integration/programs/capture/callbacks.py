"""User code called back from a builtin (sorted) and from the standard library (json)."""
import json


def by_length(word):
    return len(word)


def as_point(obj):
    return (obj["x"], obj["y"])


def main():
    words = sorted(["ccc", "a", "bb"], key=by_length)
    ",".join(words)  # a method of a builtin type (3.12+ report it unbound)
    point = json.loads('{"x": 1, "y": 2}', object_hook=as_point)
    return words, point


main()
