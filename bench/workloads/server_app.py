"""The server of `make bench`'s load test: FastAPI under uvicorn on loopback, as a
staging server would run. GET /items/{n} is a sync endpoint (AnyIO's worker thread) doing
some work of the application's own, /async/{n} an async one, /boom fails (HTTP 500).
Writes "PID PORT" to the file named by argv[1] once it listens; SIGTERM stops it cleanly
(uvicorn's own handler)."""
import asyncio
import os
import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


def price(item, qty):
    return round(item * 1.07 * qty, 2)


def basket(n):
    lines = [{"item": i, "qty": 1 + i % 3} for i in range(n)]
    return sum(price(line["item"], line["qty"]) for line in lines)


@app.get("/items/{n}")
def items(n: int):
    return {"total": basket(n)}


@app.get("/async/{n}")
async def async_items(n: int):
    return {"total": basket(n)}


@app.get("/boom")
def boom():
    return JSONResponse({"error": basket(-1) or "boom"}, status_code=500)


config = uvicorn.Config(app, host="127.0.0.1", port=int(os.environ.get("PORT", "0")),
                        log_level="critical", lifespan="off", access_log=False)
server = uvicorn.Server(config)


async def announce():
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d %d\n" % (os.getpid(), port))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])


async def main():
    await asyncio.gather(server.serve(), announce())


if __name__ == "__main__":
    asyncio.run(main())
