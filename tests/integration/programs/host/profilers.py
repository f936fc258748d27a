"""The program profiles itself: cProfile, then a profile function of its own. Both must
see what they see untraced, and FlowTrace must record every call all along."""
import cProfile
import io
import pstats
import sys


def leaf(x):
    return x + 1


def step(name):
    return [leaf(i) for i in range(3)], name


def main():
    step("before")
    profiler = cProfile.Profile()
    profiler.enable()
    step("during cProfile")
    profiler.disable()
    step("after cProfile")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).print_stats("step")
    print("cProfile saw step:", "(step)" in out.getvalue())
    seen = []

    def mine(frame, event, arg):
        if event == "call":
            seen.append(frame.f_code.co_name)

    sys.setprofile(mine)
    print("getprofile is mine:", sys.getprofile() is mine)
    step("during mine")
    sys.setprofile(None)
    print("mine saw:", sorted(set(seen)))
    print("getprofile after:", sys.getprofile())
    step("after mine")


main()
