"""A Django project in one file, served by wsgiref on 127.0.0.1 and hit three times."""
import logging
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

settings.configure(DEBUG=False, ALLOWED_HOSTS=["127.0.0.1"], ROOT_URLCONF=__name__,
                   SECRET_KEY="test-only", MIDDLEWARE=[], LOGGING_CONFIG=None)
django.setup()
logging.getLogger("django").addHandler(logging.NullHandler())  # the 500's traceback: not on stderr
logging.getLogger("django").propagate = False


def load(n):
    if n == 0:
        raise ZeroDivisionError("no items")
    return n


def ok(request):
    return HttpResponse("fine %d" % load(1))


def boom(request):
    return HttpResponse("never %d" % load(0))


urlpatterns = [path("ok", ok), path("boom", boom)]


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


from django.core.wsgi import get_wsgi_application

from serve import hit_three

hit_three(make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet))
