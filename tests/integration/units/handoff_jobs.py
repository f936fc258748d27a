"""Units of work (--unit __main__:job_*) that hand work to other threads, in each way
Python has; and, outside any unit, the same hand-off, which stays the worker's own."""
import asyncio
import concurrent.futures
import threading

pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pool")


def leaf(n):
    if n < 0:
        raise ValueError("negative: %d" % n)
    return n * 2


def work(n):
    return leaf(n) + 1


def job_pool():
    return pool.submit(work, 1).result()


def job_thread():
    out = []
    th = threading.Thread(target=lambda: out.append(work(2)), name="helper")
    th.start()
    th.join()
    return out[0]


def job_to_thread():
    return asyncio.run(asyncio.to_thread(work, 3))


def job_executor():
    async def main():
        return await asyncio.get_running_loop().run_in_executor(None, work, 4)
    return asyncio.run(main())


def job_anyio():
    try:
        import anyio
        from starlette.concurrency import run_in_threadpool
    except ImportError:
        return None

    async def main():
        return await run_in_threadpool(work, 5)
    return anyio.run(main)


def job_fails():
    return pool.submit(work, -1).result()


for job in (job_pool, job_thread, job_to_thread, job_executor, job_anyio, job_fails):
    try:
        print(job.__name__, job())
    except ValueError as e:
        print(job.__name__, "raised", e)
print("outside", pool.submit(work, 6).result())
pool.shutdown()
