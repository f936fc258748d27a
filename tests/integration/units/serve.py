"""Serves a WSGI server in a thread and hits it as the tests expect: /ok, /boom, /ok, each
with the User-Agent the tests look for; prints each path and its status."""
import threading
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
