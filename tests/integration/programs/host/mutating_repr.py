"""__repr__ methods that change the container being rendered (run with --repr).

Each function takes a container and returns its size; the tracer renders arguments and
results with repr(), and every repr() here clears, grows or rebinds what holds it. What
the program prints depends on when repr() ran (that is what --repr allows), but it must
run to its end: no crash, no exception raised into it."""
import sys


class Clears:
    """Clears its container when asked for its repr."""

    def __init__(self, target):
        self.target = target

    def __repr__(self):
        self.target.clear()
        return "Clears()"


class Grows:
    """Adds to its container when asked for its repr."""

    def __init__(self, target):
        self.target = target

    def __repr__(self):
        if len(self.target) < 50:
            self.target.append(Grows(self.target))
        return "Grows()"


class Rebinds:
    """Rebinds the traced function's parameter through its frame's f_locals."""

    def __repr__(self):
        frame = sys._getframe(1)
        if "box" in frame.f_locals:
            try:
                frame.f_locals["box"] = None
            except (TypeError, ValueError):
                pass
        return "Rebinds()"


def size(container):
    return len(container)


def count_keys(d):
    return len(d)


def held(box):
    return type(box).__name__


def main():
    d = {}
    d[1] = Clears(d)
    d[2] = "two"
    d[3] = [Clears(d), "x" * 10]
    print("dict:", size(d), len(d))

    k = {}
    k[Clears(k)] = "a key whose repr clears its dict"
    k["other"] = 1
    print("dict keys:", count_keys(k), len(k))

    lst = [1, Clears([]), 2]
    lst.append(Clears(lst))
    lst.extend([(Clears(lst), "t"), 3, 4])
    print("list:", size(lst), len(lst))

    grow = []
    grow.append(Grows(grow))
    print("growing list:", size(grow) > 0)

    s = set()
    s.add(Clears(s))
    s.update({1, 2, 3})
    print("set:", size(s), len(s))

    print("rebound:", held([Rebinds(), {"k": Rebinds()}]))


main()
