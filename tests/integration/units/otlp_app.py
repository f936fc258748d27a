"""A FastAPI server for the OpenTelemetry export tests: a sync endpoint that calls work()
-> leaf() n times (in AnyIO's worker thread), and one whose work fails in a pool thread,
asked for with a W3C traceparent and tracestate as a caller's tracer would send them."""
import concurrent.futures

from fastapi import FastAPI
from serve import hit_asgi

CALLER = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          "tracestate": "vendor=x"}
app = FastAPI()
pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pool")


def leaf(n):
    if n < 0:
        raise ValueError("negative: %d" % n)
    return n * 2


def work(n):
    return sum(leaf(i) for i in range(n))


@app.get("/items/{item_id}")
def item(item_id: int):
    return {"n": work(item_id)}


@app.get("/boom")
def boom():
    return {"n": pool.submit(leaf, -1).result()}


hit_asgi(app, ("/items/3", "/boom", "/items/300"), lambda path: CALLER if path == "/boom" else {})
