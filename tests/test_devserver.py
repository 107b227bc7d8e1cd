"""The local dev server routes exactly as vercel.json says, and serves every function over HTTP."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devtools.demo_images import product_png
from devtools.devserver import DevApp, DevServer
from devtools.vercel_routing import (
    PARAM,
    VERCEL_JSON,
    Match,
    RouteSyntaxError,
    build_router,
    function_settings,
    functions_key_regex,
)
from lib.conf import config
from tests.support import call

VERCEL = json.loads(VERCEL_JSON.read_text(encoding="utf-8"))
REWRITES = VERCEL.get("rewrites", [])
REDIRECTS = VERCEL.get("redirects", [])
ROUTER = build_router(VERCEL_JSON, media_url="/media/")


def sample_path(source: str) -> str:
    """A concrete path matching a vercel.json source: one segment per parameter, two for `*`/`+`."""
    segments = []
    for segment in source.split("/")[1:]:
        param = PARAM.fullmatch(segment)
        if param is None:
            segments.append(segment)
        else:
            segments.append("sample/nested" if param[2] in ("*", "+") else "sample")
    return "/" + "/".join(segments)


def function_of(destination: str) -> str:
    return urlsplit(destination).path.removeprefix("/api/")


# --- the routing table, resolved without a server ----------------------------------------


@pytest.mark.parametrize("rewrite", REWRITES, ids=[r["source"] for r in REWRITES])
def test_every_rewrite_of_vercel_json_resolves_to_its_destination(rewrite):
    match = ROUTER.resolve(sample_path(rewrite["source"]))

    assert match.kind == "function"
    assert match.function == function_of(rewrite["destination"])


@pytest.mark.parametrize("redirect", REDIRECTS, ids=[r["source"] for r in REDIRECTS])
def test_every_redirect_of_vercel_json_answers_with_its_location(redirect):
    match = ROUTER.resolve(sample_path(redirect["source"]))

    assert match.kind == "redirect"
    assert match.status in (301, 302, 303, 307, 308)
    if not PARAM.search(redirect["destination"]):
        assert match.location == redirect["destination"]


@pytest.mark.parametrize("path", sorted(ROUTER.functions))
def test_each_api_file_is_a_function_at_its_own_path(path):
    name = ROUTER.functions[path]

    assert (VERCEL_JSON.parent / "api" / f"{name}.py").is_file()
    assert ROUTER.resolve(path) == Match("function", function=name)


def test_every_functions_key_of_vercel_json_applies_to_a_served_function():
    served = [f"api/{name}.py" for name in ROUTER.functions.values()]
    unused = [
        key
        for key in VERCEL["functions"]
        if not any(functions_key_regex(key).match(path) for path in served)
    ]

    assert unused == []  # Vercel refuses to build with a key that matches no function
    assert len(VERCEL["functions"]) <= 50  # the CLI's schema for `functions`


def test_every_function_has_its_limits_from_vercel_json():
    for name in ROUTER.functions.values():
        settings = function_settings(VERCEL, name)
        assert settings is not None, name
        assert {"memory", "maxDuration", "excludeFiles"} <= set(settings), name


def test_a_specific_functions_entry_wins_over_a_later_catch_all():
    config = {
        "functions": {
            "api/slow.py": {"maxDuration": 300},
            "api/cron_*.py": {"maxDuration": 60},
            "api/**/*.py": {"maxDuration": 15},
        }
    }

    assert function_settings(config, "slow") == {"maxDuration": 300}
    assert function_settings(config, "cron_jobs") == {"maxDuration": 60}
    assert function_settings(config, "webhooks/bkash") == {"maxDuration": 15}
    assert function_settings(config, "catalog") == {"maxDuration": 15}
    assert function_settings({"functions": {"api/*.py": {}}}, "webhooks/bkash") is None


def test_public_files_are_served_before_rewrites():
    match = ROUTER.resolve("/robots.txt")

    assert match.kind == "static"
    assert Path(match.location) == (VERCEL_JSON.parent / "public" / "robots.txt").resolve()


def make_project(tmp_path: Path, config: dict) -> Path:
    for name in ("items", "health", "_shared", "v1/nested"):
        (tmp_path / "api" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "api" / f"{name}.py").write_text("app = None\n")
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "robots.txt").write_text("User-agent: *\n")
    (tmp_path / "public" / "index.html").write_text("<h1>Zest</h1>")
    (tmp_path / "secret.txt").write_text("not public")
    (tmp_path / "vercel.json").write_text(json.dumps(config))
    return tmp_path / "vercel.json"


SYNTHETIC = {
    "functions": {"api/items.py": {"memory": 512}},
    "redirects": [
        {"source": "/old/:slug", "destination": "/new/:slug", "permanent": True},
        {"source": "/moved", "destination": "/robots.txt", "permanent": False},
        {"source": "/away", "destination": "https://example.com/", "statusCode": 301},
    ],
    "rewrites": [
        {"source": "/items/:id", "destination": "/api/items?item=:id"},
        {"source": "/shop/:path*", "destination": "/api/items"},
        {"source": "/lang/:code?", "destination": "/api/items"},
        {"source": "/deep/:rest+", "destination": "/api/items"},
        {"source": "/api/health", "destination": "/api/items"},
        {"source": "/ghost", "destination": "/api/ghost"},
    ],
    "headers": [{"source": "/shop/:path*", "headers": [{"key": "X-Shop", "value": "yes"}]}],
}


@pytest.fixture
def router(tmp_path):
    return build_router(make_project(tmp_path, SYNTHETIC), media_url="/media/")


def test_redirects_come_first_with_vercel_status_codes(router):
    assert (router.resolve("/old/panjabi").status, router.resolve("/old/panjabi").location) == (
        308,
        "/new/panjabi",
    )
    assert router.resolve("/moved").status == 307
    assert router.resolve("/away").location == "https://example.com/"
    assert router.resolve("/away").status == 301


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/shop", {"path": ""}),
        ("/shop/a", {"path": "a"}),
        ("/shop/a/b/c", {"path": "a/b/c"}),
        ("/lang", {"code": ""}),
        ("/lang/bn", {"code": "bn"}),
        ("/deep/x", {"rest": "x"}),
        ("/deep/x/y", {"rest": "x/y"}),
    ],
)
def test_parameters_match_like_path_to_regexp(router, path, params):
    match = router.resolve(path)

    assert (match.kind, match.function, match.params) == ("function", "items", params)
    assert match.query == tuple(params.items())


@pytest.mark.parametrize("path", ["/shop/", "/shop/a/", "/lang/bn/x", "/deep", "/Shop/a", "/items"])
def test_paths_outside_a_pattern_do_not_match(router, path):
    assert router.resolve(path).kind == "not_found"


def test_params_used_in_the_destination_query_are_filled_in_and_all_are_added(router):
    # As Vercel's routing-utils: no parameter is used in the destination *path*, so every
    # named parameter is also appended to the query.
    assert router.resolve("/items/7").query == (("item", "7"), ("id", "7"))


def test_the_filesystem_wins_over_rewrites_and_stays_inside_public(router):
    assert router.resolve("/api/health").function == "health"
    assert router.resolve("/api/v1/nested").function == "v1/nested"
    assert router.resolve("/robots.txt").kind == "static"
    assert router.resolve("/").location.endswith("index.html")
    assert router.resolve("/api/_shared").kind == "not_found"
    assert router.resolve("/../secret.txt").kind == "not_found"
    assert router.resolve("/media/products/x.png").location == "products/x.png"


def test_a_rewrite_to_a_missing_function_is_not_found(router):
    assert router.resolve("/ghost").kind == "not_found"


def test_unknown_path_is_not_found(router):
    assert router.resolve("/nowhere").kind == "not_found"


def test_headers_of_vercel_json_apply_to_matching_paths(router):
    assert router.headers_for("/shop/a") == {"X-Shop": "yes"}
    assert router.headers_for("/items/1") == {}


@pytest.mark.parametrize(
    "change",
    [
        {"rewrites": [{"source": "/(.*)", "destination": "/api/items"}]},
        {"rewrites": [{"source": "/x/:id(\\d+)", "destination": "/api/items"}]},
        {"rewrites": [{"source": "/file-:id", "destination": "/api/items"}]},
        {"rewrites": [{"source": "/x/:a/:a", "destination": "/api/items"}]},
        {"rewrites": [{"source": "/x", "destination": "https://example.com/x"}]},
        {"rewrites": [{"source": "/x", "destination": "/api/:nope"}]},
        {"rewrites": [{"source": "/x", "destination": "/api/items", "has": [{"type": "host"}]}]},
        {"routes": [{"src": "/x", "dest": "/api/items"}]},
        {"cleanUrls": True},
        {"functions": {"api/missing.py": {}}},
    ],
)
def test_unsupported_or_invalid_configuration_is_refused(tmp_path, change):
    with pytest.raises(RouteSyntaxError):
        build_router(make_project(tmp_path, {**SYNTHETIC, **change}))


def echo(environ, start_response):
    body = json.dumps({"path": environ["PATH_INFO"], "query": environ["QUERY_STRING"]})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


def test_a_function_sees_the_original_path_and_query_plus_named_params(router, tmp_path):
    app = DevApp(router, {"items": echo, "health": echo}, tmp_path, access_log=None)

    response = call(app, "GET", "/items/7?a=1")

    assert response.json() == {"path": "/items/7", "query": "a=1&item=7&id=7"}
    assert response.headers["x-zest-function"] == "items"


def test_redirect_keeps_the_query_string_and_headers_are_added(router, tmp_path):
    app = DevApp(router, {"items": echo}, tmp_path, access_log=None)

    redirect = call(app, "GET", "/old/panjabi?ref=home")
    shop = call(app, "GET", "/shop/a")

    assert (redirect.status, redirect.headers["location"]) == (308, "/new/panjabi?ref=home")
    assert shop.headers["x-shop"] == "yes"


def test_unknown_path_gets_the_json_envelope_in_the_callers_language(router, tmp_path):
    app = DevApp(router, {}, tmp_path, access_log=None)

    english = call(app, "GET", "/nowhere")
    bangla = call(app, "GET", "/nowhere", headers={"Accept-Language": "bn-BD"})

    assert english.status == 404
    assert english.json() == {
        "error": {
            "code": "not_found",
            "message": "The requested resource was not found.",
            "fields": {},
        }
    }
    assert bangla.json()["error"]["message"] == "অনুরোধ করা তথ্য পাওয়া যায়নি।"


@pytest.mark.parametrize(
    "url",
    ["/" + "a" * 20_000, "/api/v1/products/" + "a" * 20_000, "/api/v1/products?q=" + "a" * 20_000],
    ids=["path", "function-path", "query"],
)
def test_a_url_over_vercels_14_kb_is_414_in_json(tmp_path, url):
    app = DevApp(ROUTER, {}, tmp_path, access_log=None)

    response = call(app, "GET", url)

    assert response.status == 414
    assert response.json()["error"]["code"] == "uri_too_long"


def test_a_name_too_long_for_the_file_system_is_no_file(tmp_path):
    app = DevApp(ROUTER, {"not_found": echo}, tmp_path, access_log=None)

    public = call(app, "GET", "/" + "a" * 300)  # no such static file: the catch-all function
    media = call(app, "GET", "/media/" + "a" * 300)

    assert (public.status, public.headers["x-zest-function"]) == (200, "not_found")
    assert (media.status, media.json()["error"]["code"]) == (404, "not_found")


def test_access_log_has_one_line_per_request(router, tmp_path):
    lines = []
    app = DevApp(router, {"items": echo}, tmp_path, access_log=lines.append)

    call(app, "GET", "/items/7")
    call(app, "GET", "/nowhere")

    assert [line.split()[:3] for line in lines] == [
        ["GET", "/items/7", "200"],
        ["GET", "/nowhere", "404"],
    ]


# --- the real server over HTTP -----------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self):
        return json.loads(self.body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)


def fetch(server, path, *, method="GET", data=None, headers=None) -> Reply:
    request = urllib.request.Request(  # noqa: S310 - http to the local test server
        server.url + path, data=data, method=method, headers=headers or {}
    )
    try:
        with OPENER.open(request, timeout=15) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    (root / "products" / "demo").mkdir(parents=True)
    (root / "products" / "demo" / "1.png").write_bytes(product_png("demo"))
    return root


@pytest.fixture(scope="module")
def server(media_root):
    dev = DevServer("127.0.0.1", 0, media_root=media_root, access_log=None)
    thread = threading.Thread(target=dev.serve_forever, daemon=True)
    thread.start()
    yield dev
    dev.shutdown()
    thread.join(timeout=5)


live = pytest.mark.django_db(transaction=True)


def assert_envelope(reply: Reply, status: int, code: str) -> dict:
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.json()["error"]
    assert (error["code"], bool(error["message"])) == (code, True)
    return error


@live
@pytest.mark.parametrize("rewrite", REWRITES, ids=[r["source"] for r in REWRITES])
def test_every_rewrite_reaches_its_function_over_http(server, rewrite):
    reply = fetch(server, sample_path(rewrite["source"]))

    assert reply.headers["X-Zest-Function"] == function_of(rewrite["destination"])
    assert reply.headers["X-Request-ID"]  # the function's own pipeline answered
    assert reply.status < 500


@live
@pytest.mark.parametrize("path", sorted(ROUTER.functions))
def test_every_function_path_reaches_its_function_over_http(server, path):
    reply = fetch(server, path)

    assert reply.headers["X-Zest-Function"] == ROUTER.functions[path]
    assert reply.headers["X-Request-ID"]
    assert reply.status < 500


@live
def test_health_reports_every_service(server):
    reply = fetch(server, "/api/health")

    assert reply.status == 200
    assert {"database", "kv", "documents", "storage"} <= set(reply.json()["services"])


@live
def test_openapi_merges_the_schemas_of_several_functions(server):
    reply = fetch(server, "/api/v1/openapi.json")

    spec = reply.json()
    assert reply.status == 200
    assert len({tag["x-function"] for tag in spec["tags"]}) >= 3
    assert "/api/health" in spec["paths"]


@live
def test_docs_page_and_its_assets_are_served(server):
    page = fetch(server, "/api/v1/docs")
    asset = fetch(server, "/api/v1/docs/assets/docs.js")

    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"/api/v1/openapi.json" in page.body
    assert asset.status == 200


@live
def test_admin_redirects_to_its_login_page(server):
    bare = fetch(server, "/admin")
    index = fetch(server, "/admin/")
    login = fetch(server, "/admin/login/")

    assert (bare.status, bare.headers["Location"]) == (307, "/admin/")
    assert index.status == 302
    assert index.headers["Location"].startswith("/admin/login/")
    assert login.status == 200
    assert login.headers["Content-Type"].startswith("text/html")


@live
def test_cron_needs_the_secret(server):
    denied = fetch(server, "/api/cron/inventory-alerts")

    assert_envelope(denied, 401, "unauthenticated")
    if config.cron_secret:
        allowed = fetch(
            server,
            "/api/cron/inventory-alerts",
            headers={"Authorization": f"Bearer {config.cron_secret}"},
        )
        assert allowed.status == 200
        assert allowed.json()["job"] == "inventory-alerts"


@live
def test_unknown_route_gets_the_json_envelope(server, server_key):
    reply = fetch(server, "/no/such/page", headers={"Accept-Language": "bn", **server_key})

    error = assert_envelope(reply, 404, "not_found")
    assert error["message"] == "অনুরোধ করা তথ্য পাওয়া যায়নি।"


@live
def test_unknown_route_gets_the_json_envelope_in_debug_mode_too(server, settings, server_key):
    settings.DEBUG = True  # as `zest dev` runs

    assert_envelope(fetch(server, "/no/such/page", headers=server_key), 404, "not_found")
    assert_envelope(fetch(server, "/no/such/page"), 401, "api_key_required")


@live
def test_wrong_method_gets_the_405_envelope(server):
    reply = fetch(server, "/api/health", method="POST", data=b"{}")

    assert_envelope(reply, 405, "method_not_allowed")
    assert "GET" in reply.headers["Allow"]


@live
def test_public_and_media_files_are_served_and_traversal_is_refused(server):
    robots = fetch(server, "/robots.txt")
    image = fetch(server, "/media/products/demo/1.png")
    escape = fetch(server, "/media/../pyproject.toml")
    missing = fetch(server, "/media/products/demo/2.png")

    assert robots.status == 200
    assert robots.headers["Content-Type"].startswith("text/plain")
    assert (image.status, image.headers["Content-Type"]) == (200, "image/png")
    assert image.body.startswith(b"\x89PNG")
    assert_envelope(escape, 404, "not_found")
    assert_envelope(missing, 404, "not_found")


@live
def test_requests_are_served_concurrently(server):
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: fetch(server, "/api/v1/openapi.json"), range(16)))

    assert [reply.status for reply in replies] == [200] * 16
