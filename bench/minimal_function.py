"""The yardstick: the smallest Django + Ninja function (one route), as a Vercel function."""

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only",  # noqa: S106
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    USE_TZ=True,
)
django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.urls import path  # noqa: E402
from ninja import NinjaAPI  # noqa: E402

api = NinjaAPI(docs_url=None)


@api.get("/ping")
def ping(request):
    return {"pong": True}


urlpatterns = [path("api/", api.urls)]
app = WSGIHandler()
