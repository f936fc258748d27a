from fastapi import FastAPI
from serve import hit_asgi

app = FastAPI()

def load(n):
    if n == 0:
        raise ZeroDivisionError("no items")
    return n

@app.get("/ok")
async def ok():
    return {"n": load(1)}

@app.get("/boom")
async def boom():
    return {"n": load(0)}

hit_asgi(app, ("/ok", "/boom", "/ok"),
         lambda path: {"User-Agent": "ft-test/1", "X-Request-ID": "req-%s" % path.strip("/")})
