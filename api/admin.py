"""The Django admin at /admin/, with its static files at /static/."""

from lib.runtime import FunctionApp

from django.conf import settings
from django.contrib import admin
from django.urls import path

app = FunctionApp("admin", [path("admin/", admin.site.urls)], middleware=settings.ADMIN_MIDDLEWARE)
