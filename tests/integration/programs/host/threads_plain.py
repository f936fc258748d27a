"""Thread subclasses with a run() of their own, under FlowTrace's threading hook only."""
import threading


def leaf(x):
    return x + 1


class Stepper(threading.Thread):
    def run(self):
        leaf(1)


for _ in range(2):
    t = Stepper()
    t.start()
    t.join()
print("done")
