"""Every path no other function serves: the JSON 404 envelope, never an HTML page."""

from lib.runtime import FunctionApp, page_not_found

from django.urls import re_path

# A catch-all view rather than an empty URLconf: with DEBUG on, Django answers an empty
# URLconf with its "install worked" page instead of calling handler404.
app = FunctionApp("not_found", [re_path(r"", page_not_found)])
