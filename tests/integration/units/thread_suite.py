"""A suite whose tests start threads and use executors (more-itertools' shape): the
threads' calls are the tests' own."""
import threading
from concurrent.futures import ThreadPoolExecutor


def leaf(i):
    return i + 1


def work(n):
    return sum(leaf(i) for i in range(n))


def test_threads_pass():
    ts = [threading.Thread(target=work, args=(3000,), name="t%d" % k) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def test_executor_passes():
    with ThreadPoolExecutor(2, thread_name_prefix="pool") as ex:
        assert list(ex.map(work, [3000, 3000])) == [4501500, 4501500]


def test_executor_fails():
    with ThreadPoolExecutor(2, thread_name_prefix="pool") as ex:
        assert list(ex.map(work, [10, 20])) == [0, 0]
