import sys, threading, urllib.request, urllib.error
from flask import Flask
from werkzeug.serving import make_server
app = Flask(__name__)

def load(n):
    if n == 0:
        raise ZeroDivisionError("no items")
    return n

@app.route("/ok")
def ok():
    return "fine %d" % load(1)

@app.route("/boom")
def boom():
    return "never %d" % load(0)

srv = make_server("127.0.0.1", 0, app, threaded=True)
port = srv.server_port
th = threading.Thread(target=srv.serve_forever)
th.start()
for path in ("/ok", "/boom", "/ok"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers={"User-Agent": "ft-test/1"})
    try:
        print(path, urllib.request.urlopen(req).status)
    except urllib.error.HTTPError as e:
        print(path, e.code)
srv.shutdown()
th.join()
