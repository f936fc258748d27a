"""A program with a trace function of its own, as under a debugger or coverage."""
import sys

seen = []


def tracer(frame, event, arg):
    if event == "exception":
        seen.append((frame.f_code.co_name, arg[0].__name__))
    return tracer


def fail(x):
    raise ValueError(x)


def catch():
    try:
        fail("boom")
    except ValueError:
        return "caught"


def main():
    catch()
    sys.settrace(tracer)
    catch()
    sys.settrace(None)
    catch()
    print(seen)


main()
