"""Two WSGI requests, one after the other, each in a thread of its own: the first's thread
lives on after its request (a kept-alive connection's thread), the second's ends at once.
With flushing only when full or at a thread's end, the second's records would reach the
writer first."""
import threading


def start_response(status, headers, exc_info=None):
    return None


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]


def serve(path, served, linger):
    app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "REMOTE_ADDR": "127.0.0.1"},
        start_response)
    served.set()
    linger.wait()


first_served, second_served, linger, done = (threading.Event() for _ in range(4))
first = threading.Thread(target=serve, args=("/first", first_served, linger))
first.start()
first_served.wait()
second = threading.Thread(target=serve, args=("/second", second_served, done))
done.set()
second.start()
second.join()
linger.set()
first.join()
print("served")
