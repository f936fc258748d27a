import threading, time, urllib.request, urllib.error
import uvicorn
from fastapi import FastAPI
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

config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
server = uvicorn.Server(config)
th = threading.Thread(target=server.run)
th.start()
while not server.started:
    time.sleep(0.01)
port = server.servers[0].sockets[0].getsockname()[1]
for path in ("/ok", "/boom", "/ok"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers={"User-Agent": "ft-test/1", "X-Request-ID": "req-%s" % path.strip("/")})
    try:
        print(path, urllib.request.urlopen(req).status)
    except urllib.error.HTTPError as e:
        print(path, e.code)
server.should_exit = True
th.join()
