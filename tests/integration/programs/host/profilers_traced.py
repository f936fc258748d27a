"""A program with a tracer of its own (sys.settrace: a debugger, coverage) that also
profiles: sys.setprofile is chained as without the tracer; cProfile, which FlowTrace can
only see through its trace function, makes FlowTrace say it records no more of the thread.
Every function of the program's gets the events it gets untraced."""
import cProfile
import sys


def leaf(x):
    return x + 1


def step(name):
    return [leaf(i) for i in range(3)], name


def main():
    traced, seen = [], []

    def tracer(frame, event, arg):
        traced.append((event, frame.f_code.co_name))
        return None  # calls only, no line events

    def mine(frame, event, arg):
        seen.append((event, getattr(arg, "__name__", None) if event.startswith("c_")
                     else frame.f_code.co_name))

    sys.settrace(tracer)
    sys.setprofile(mine)
    step("profiled under a tracer")
    sys.setprofile(None)
    step("after")
    profiler = cProfile.Profile()
    profiler.enable()
    step("cProfile under a tracer")
    profiler.disable()
    sys.settrace(None)
    print("mine saw:", seen)
    print("the tracer saw:", traced)
    print("cProfile saw step:",
          any(getattr(e.code, "co_name", None) == "step" for e in profiler.getstats()))


main()
