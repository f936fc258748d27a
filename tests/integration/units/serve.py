"""Serves a WSGI server (or an ASGI app under uvicorn) in a thread and hits it as the
tests expect, printing each path and its status: hit_three asks for /ok, /boom, /ok with
the User-Agent the tests look for, hit_asgi for the paths it is given."""
import threading
import time
import urllib.error
import urllib.request


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


def hit_asgi(app, paths, headers_of=lambda path: {}):
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    th = threading.Thread(target=server.run)
    th.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    for path in paths:
        get(port, path, headers_of(path))
    server.should_exit = True
    th.join()
