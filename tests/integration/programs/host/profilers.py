"""The program profiles itself: cProfile, the stdlib's pure-Python profile module, then a
profile function of its own. Each must see what it sees untraced (every count the profilers
report, every event the profile function gets, in order), and FlowTrace must record every
call all along."""
import cProfile
import io
import profile
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
    stats = pstats.Stats(profiler, stream=out)
    stats.print_stats("step")
    print("cProfile saw step:", "(step)" in out.getvalue())
    # cProfile's output but its times: calls, primitive calls and callers of each function.
    for (_, line, name), (cc, nc, _, _, callers) in sorted(stats.stats.items(),
                                                            key=lambda kv: kv[0][2]):
        print("cProfile:", name, line, nc, cc, sorted((c[2], v[0]) for c, v in callers.items()))
    # profile.Profile checks the events it gets: one it never gets untraced fails it.
    pure = profile.Profile()
    pure.runcall(step, "during profile")
    for (_, line, name), (cc, nc, _, _, _) in sorted(pstats.Stats(pure).stats.items(),
                                                      key=lambda kv: kv[0][2]):
        if line:  # not the command line profile makes up ("<function step at 0x…>")
            print("profile:", name, line, nc, cc)
    seen = []

    def mine(frame, event, arg):
        seen.append((event, getattr(arg, "__name__", None) if event.startswith("c_")
                     else frame.f_code.co_name))

    sys.setprofile(mine)
    print("getprofile is mine:", sys.getprofile() is mine)
    step("during mine")
    sys.setprofile(None)
    print("mine saw:", seen)
    print("getprofile after:", sys.getprofile())
    step("after mine")


main()
