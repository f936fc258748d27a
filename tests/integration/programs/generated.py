"""Code generated at run time, as attrs and dataclasses make it: a method compiled from
text under a <...> file name and named after its class by setting __qualname__, and
module code compiled with an empty file name (attrs' _make_attr_tuple_class)."""


class Point:
    pass


def make_init(cls):
    ns = {"__name__": __name__}
    exec(compile("def __init__(self, x):\n    self.x = x\n", "<generated init Point>", "exec"), ns)
    init = ns["__init__"]
    init.__qualname__ = cls.__qualname__ + ".__init__"
    cls.__init__ = init


make_init(Point)
exec(compile("T = 1\n", "", "exec"), {})


def main():
    return Point(3).x


main()
