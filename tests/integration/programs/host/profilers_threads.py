"""Threads that profile themselves, or are started with a profile function of the
program's (threading.setprofile), or after the program's threading.setprofile(None), and a
Thread subclass's run(): FlowTrace must record their calls too, each once, and the
program's profile functions get the events they get untraced."""
import sys
import threading


def leaf(x):
    return x + 1


def step(name):
    return [leaf(i) for i in range(3)], name


def events(into):
    """A profile function that notes every event it gets, in order."""
    def note(frame, event, arg):
        into.append((event, getattr(arg, "__name__", None) if event.startswith("c_")
                     else frame.f_code.co_name))
    return note


def profiled():
    seen = []
    sys.setprofile(events(seen))
    step("thread, profiled")
    sys.setprofile(None)
    step("thread, after")
    print("the thread's profile function saw:", seen)


def started():
    step("started with a profile function")


class Stepper(threading.Thread):
    def run(self):
        step("a Thread subclass's run")


def main():
    t = Stepper()
    t.start()
    t.join()
    t = threading.Thread(target=profiled)
    t.start()
    t.join()
    calls = []
    threading.setprofile(events(calls))
    t = threading.Thread(target=started)
    t.start()
    t.join()
    threading.setprofile(None)
    print("threading's profile function saw:", calls)
    t = threading.Thread(target=step, args=("a thread started after threading.setprofile(None)",))
    t.start()
    t.join()
    print("getprofile after:", threading.getprofile())


main()
