"""Fallback URLconf: each function sets its own per request (see `lib.runtime.FunctionApp`)."""

from lib.runtime import page_not_found, server_error

urlpatterns: list = []
handler404 = page_not_found
handler500 = server_error
