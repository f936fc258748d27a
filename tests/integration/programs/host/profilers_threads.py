"""Threads that profile themselves, or are started with a profile function of the
program's (threading.setprofile): FlowTrace must record their calls too."""
import sys
import threading


def leaf(x):
    return x + 1


def step(name):
    return [leaf(i) for i in range(3)], name


def profiled():
    seen = []
    sys.setprofile(lambda frame, event, arg: seen.append(event))
    step("thread, profiled")
    sys.setprofile(None)
    step("thread, after")
    print("the thread's profile function saw calls:", "call" in seen)


def started():
    step("started with a profile function")


def main():
    t = threading.Thread(target=profiled)
    t.start()
    t.join()
    calls = []
    threading.setprofile(lambda frame, event, arg: calls.append(event))
    t = threading.Thread(target=started)
    t.start()
    t.join()
    threading.setprofile(None)
    print("threading's profile function saw calls:", "call" in calls)


main()
