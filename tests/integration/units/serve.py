"""Serves a WSGI server (or an ASGI app under uvicorn) in a thread and hits it as the
tests expect, printing each path and its status: hit_three asks for /ok, /boom, /ok with
the User-Agent the tests look for, hit_asgi for the paths it is given (one at a time, or
from several threads at once)."""
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

CLIENT = """
import http.client, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
paths = sys.stdin.read().split()
statuses, lock = [], threading.Lock()
def worker(mine):
    conn = http.client.HTTPConnection("127.0.0.1", port)  # kept alive, as load tools do
    for path in mine:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        with lock:
            statuses.append(r.status)
threads = [threading.Thread(target=worker, args=(paths[i::n],)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for code in sorted(set(statuses)):
    print(code, statuses.count(code))
"""


def hit_three(srv):
    th = threading.Thread(target=srv.serve_forever)
    th.start()
    for path in ("/ok", "/boom", "/ok"):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (srv.server_port, path),
                                     headers={"User-Agent": "ft-test/1"})
        try:
            print(path, urllib.request.urlopen(req).status)
        except urllib.error.HTTPError as e:
            print(path, e.code)
    srv.shutdown()
    th.join()


def get(port, path, headers):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=headers)
    try:
        print(path, urllib.request.urlopen(req).status)
    except urllib.error.HTTPError as e:
        print(path, e.code)


def hit_asgi(app, paths, headers_of=lambda path: {}, concurrency=1):
    """concurrency > 1: the paths are asked for by that many threads of another process at
    once, and only the count of each status is printed (in the order of the statuses)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    th = threading.Thread(target=server.run)
    th.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    if concurrency == 1:
        for path in paths:
            get(port, path, headers_of(path))
    else:
        # From another process (untraced), so that requests really overlap.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        out = subprocess.run([sys.executable, "-c", CLIENT, str(port), str(concurrency)],
                             input="\n".join(paths), env=env, capture_output=True, text=True)
        sys.stdout.write(out.stdout + out.stderr)
    server.should_exit = True
    th.join()
