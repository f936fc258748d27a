"""Secrets in every shape a traced program passes them around; every secret value holds
the marker S (made at run time, so that the source, which the HTML viewer shows, does not
hold it), for a test to look for in every output. Run with argv
`--password <S>-argv-1 --api-key=<S>-argv-2 --user bob`.

One value is not known to be a secret: a token passed positionally under an innocent name
(`connect("db", "INNOCENT-TOKEN")`), which redaction cannot see (docs/architecture.md).
"""
import asyncio
import os
import sys

S = "S3" + "CR"  # the marker


def login(user, password):  # a parameter named as a secret
    return user


def handler(**kwargs):  # keyword arguments, changed in the call (argsAfter at EXIT)
    kwargs["seen"] = True
    return len(kwargs)


def configure(config):  # dict keys at any depth, header dicts
    return sorted(config)


def environment(env):  # dict(os.environ)
    return len(env)


def wsgi_app(environ, start_response):  # a WSGI request: HTTP_* keys, QUERY_STRING
    start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", f"sid={S}-set")])
    return [b"ok"]


async def asgi_app(scope, receive, send):  # an ASGI request: header pairs, query_string
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"set-cookie", f"sid={S}-asgi-set".encode())]})
    await send({"type": "http.response.body", "body": b"ok"})


def fetch(url):  # credentials in a URL, a token in a query string
    return url.split("/")[2]


def authenticate(header):  # a credential known by its form
    return header.startswith("Bearer")


def make_headers():  # a secret in a result
    return {"Authorization": f"Bearer {S}-result", "Accept": "*/*"}


def reject(header):  # a secret in an exception's message
    raise PermissionError(f"rejected Authorization: Bearer {S}-exception")


def unlock(vault):  # an exception leaves: its locals and its cause's message
    password = f"{S}-local"
    settings = {"api_key": f"{S}-local-dict", "user": "bob"}
    try:
        raise KeyError(f"Authorization: Bearer {S}-cause")
    except KeyError as e:
        raise RuntimeError(f"{vault} locked for {settings['user']} ({len(password)})") from e


def connect(host, value):  # not known to be a secret
    return host


def main():
    login("bob", f"{S}-param")
    handler(token=f"{S}-kwarg", user="bob")
    configure({"db": {"host": "h", "password": f"{S}-nested"}, "api_key": f"{S}-top",
               "headers": {"Authorization": f"Bearer {S}-hdr", "X-Api-Key": f"{S}-xkey",
                           "Cookie": f"sessionid={S}-cookie"}})
    environment(dict(os.environ))
    wsgi_app({"REQUEST_METHOD": "GET", "PATH_INFO": "/ok", "QUERY_STRING": f"token={S}-qs&p=2",
              "HTTP_AUTHORIZATION": "Basic UzNDUi13c2dpLWJhc2lj", "HTTP_COOKIE": f"sid={S}-wck",
              "HTTP_X_API_KEY": f"{S}-wkey", "HTTP_PROXY_AUTHORIZATION": f"Bearer {S}-proxy"},
             lambda status, headers: None)

    async def receive():
        return {"type": "http.request"}

    async def send(message):
        pass

    asyncio.run(asgi_app({"type": "http", "method": "GET", "path": "/ok",
                          "query_string": f"api_key={S}-aqs&x=1".encode(),
                          "headers": [(b"authorization", f"Bearer {S}-asgi".encode()),
                                      (b"cookie", f"sid={S}-ack".encode())]}, receive, send))
    fetch(f"postgres://bob:{S}-urlpw@db/x")
    fetch(f"https://example.com/p?x=1&access_token={S}-urlqs")
    authenticate(f"Bearer {S}-bearer")
    make_headers()
    try:
        reject("x")
    except PermissionError:
        pass
    try:
        unlock("v")
    except RuntimeError:
        pass
    connect("db", "INNOCENT-TOKEN")
    # One write: with --stdout the writer's lines share the pipe.
    sys.stdout.write("done " + " ".join(a for a in sys.argv[1:] if S not in a) + "\n")


main()
