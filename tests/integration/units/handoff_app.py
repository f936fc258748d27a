"""A FastAPI server under uvicorn whose endpoints hand work to other threads in every way a
server does (a sync endpoint: AnyIO's worker thread; asyncio.to_thread; run_in_executor;
threading.Thread; asgiref's sync_to_async), and one whose work fails in a pool thread."""
import asyncio
import concurrent.futures
import threading

from asgiref.sync import sync_to_async
from fastapi import FastAPI
from serve import hit_asgi

app = FastAPI()
pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="pool")


def leaf(n):
    if n < 0:
        raise ValueError("negative %d" % n)
    return n * 2


def work(n):
    return leaf(n) + 1


@app.get("/sync")
def sync_route():
    return {"n": work(1)}


@app.get("/to_thread")
async def to_thread_route():
    return {"n": await asyncio.to_thread(work, 2)}


@app.get("/executor")
async def executor_route():
    loop = asyncio.get_running_loop()
    return {"n": await loop.run_in_executor(pool, work, 3)}


@app.get("/thread")
def thread_route():
    out = []
    th = threading.Thread(target=lambda: out.append(work(4)), name="helper")
    th.start()
    th.join()
    return {"n": out[0]}


@app.get("/s2a")
async def s2a_route():
    return {"n": await sync_to_async(work)(5)}


@app.get("/boom")
def boom_route():
    return {"n": pool.submit(work, -1).result()}


hit_asgi(app, ("/sync", "/to_thread", "/executor", "/thread", "/s2a", "/boom"))
