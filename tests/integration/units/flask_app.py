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

from serve import hit_three

hit_three(make_server("127.0.0.1", 0, app, threaded=True))
