"""A FastAPI server asked for 1,000 requests by 16 client threads at once: sync endpoints
(AnyIO's worker threads, a generator expression in each) and async ones interleave on the
event loop, so coroutine frames and worker frames reuse each other's addresses."""
from fastapi import FastAPI
from serve import hit_asgi

app = FastAPI()


def price(i):
    return i * 2


def basket(n):
    return sum(price(i) for i in range(n))


@app.get("/items/{n}")
def items(n: int):
    return {"total": basket(n)}


@app.get("/async/{n}")
async def async_items(n: int):
    return {"total": basket(n)}


hit_asgi(app, ["/items/%d" % (i % 5) if i % 2 else "/async/%d" % (i % 5) for i in range(1000)],
         concurrency=16)
