"""The API documentation page: Swagger UI over the merged schema, assets served locally."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import ninja
from django.http import FileResponse, Http404, HttpResponse

OWN_ASSETS = Path(__file__).resolve().parent / "assets"
NINJA_ASSETS = Path(ninja.__file__).resolve().parent / "static" / "ninja"
ASSET_FILES = {
    "docs.js": OWN_ASSETS / "docs.js",
    "swagger-ui.css": NINJA_ASSETS / "swagger-ui.css",
    "swagger-ui-bundle.js": NINJA_ASSETS / "swagger-ui-bundle.js",
    "favicon.svg": NINJA_ASSETS / "favicon.svg",
}
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)


def docs_page(*, assets_url: str, spec_url: str) -> HttpResponse:
    html = (OWN_ASSETS / "docs.html").read_text(encoding="utf-8")
    html = html.replace("{{ assets }}", assets_url).replace("{{ spec_url }}", spec_url)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = DOCS_CSP
    return response


def docs_asset(name: str) -> FileResponse:
    path = ASSET_FILES.get(name)
    if path is None:
        raise Http404(name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response
