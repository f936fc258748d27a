"""One request with secrets in its headers and query string, served by a real framework
(argv[1]: flask, django or starlette) through its test client, to views of ours that take
the framework's request object and its headers. Every secret holds the marker S (made at
run time: the source, which the HTML viewer shows, does not hold it)."""
import sys

S = "S3" + "CR"  # the marker
HEADERS = {"Authorization": f"Bearer {S}-auth", "Cookie": f"sessionid={S}-cookie",
           "X-Api-Key": f"{S}-key"}
QUERY = f"token={S}-qs&page=2"


def handle(request):  # the framework's request object
    return request.method


def headers_of(headers):  # a header mapping: the framework's, and a dict of it
    return len(headers)


def flask_app():
    import flask

    app = flask.Flask("secret_requests")

    @app.route("/p")
    def view():
        handle(flask.request)
        headers_of(flask.request.headers)
        headers_of(dict(flask.request.headers))
        return "ok"

    assert app.test_client().get("/p?" + QUERY, headers=HEADERS).status_code == 200


def view(request):  # Django's
    from django.http import HttpResponse

    handle(request)
    headers_of(request.headers)
    headers_of(dict(request.headers))
    return HttpResponse("ok")


urlpatterns = []


def django_app():
    import django
    from django.conf import settings
    from django.test import Client
    from django.urls import path

    settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"], MIDDLEWARE=[],
                       SECRET_KEY="k" * 50)
    urlpatterns.append(path("p", view))
    django.setup()
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in HEADERS.items()}
    assert Client().get("/p?" + QUERY, **extra).status_code == 200


def starlette_app():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def endpoint(request):
        handle(request)
        headers_of(request.headers)
        headers_of(dict(request.headers))
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/p", endpoint)])
    assert TestClient(app).get("/p?" + QUERY, headers=HEADERS).status_code == 200


{"flask": flask_app, "django": django_app, "starlette": starlette_app}[sys.argv[1]]()
print("served")
