"""Every path no other function serves: the JSON 404 envelope, never an HTML page."""

from lib.runtime import FunctionApp

app = FunctionApp("not_found", [])
