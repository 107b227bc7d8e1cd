"""The real `vercel build` output (`.ci/run` builds it): what a deploy would publish."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from devtools.vercel_routing import function_settings
from lib.conf import REPO_ROOT
from lib.openapi import function_names
from tests.locks import RUNTIME_LOCK, VERCEL_ENVIRONMENT, read_lock

VERCEL_JSON = json.loads((REPO_ROOT / "vercel.json").read_text())
OUTPUT = Path(os.environ.get("ZEST_VERCEL_OUTPUT", REPO_ROOT / ".vercel" / "output"))

pytestmark = [
    pytest.mark.vercel,
    pytest.mark.skipif(
        not (OUTPUT / "config.json").exists() and not os.environ.get("CI"),
        reason="no `vercel build` output (run .ci/run)",
    ),
]
FORBIDDEN_IN_BUNDLE = re.compile(
    r"^(tests|bench|devtools|scripts|\.ci|\.github|\.zest|\.venv|node_modules|public)/|^\.env|\.git/"
    # the project itself must not also be installed as a dependency (a second, stale copy)
    r"|^_vendor/(api|lib|db|migrations|devtools)/"
)


def function_configs() -> dict[str, dict]:
    functions = OUTPUT / "functions" / "api"
    return {
        path.relative_to(functions).as_posix().removesuffix(".func"): json.loads(
            (path / ".vc-config.json").read_text()
        )
        for path in functions.rglob("*.func")
    }


def test_one_function_per_api_file():
    assert sorted(function_configs()) == function_names()
    names = function_names()
    assert [name for name in names if function_settings(VERCEL_JSON, name) is None] == []


def test_functions_run_python_312_with_their_limits():
    for name, vc_config in function_configs().items():
        declared = function_settings(VERCEL_JSON, name)
        assert vc_config["runtime"] == "python3.12", name
        assert vc_config["maxDuration"] == declared["maxDuration"], name
        assert vc_config["memory"] == declared["memory"], name


def test_bundles_hold_the_kernel_and_nothing_private():
    for name, vc_config in function_configs().items():
        files = set(vc_config["filePathMap"])
        assert f"api/{name}.py" in files
        assert {"lib/runtime.py", "lib/conf.py", "db/models/__init__.py"} <= files, name
        assert any(path.startswith("migrations/") for path in files), name
        leaked = sorted(path for path in files if FORBIDDEN_IN_BUNDLE.search(path))
        assert leaked == [], f"{name} bundles {leaked[:10]}"


def test_no_source_code_is_published_as_static_files():
    static = OUTPUT / "static"
    published = sorted(str(p.relative_to(static)) for p in static.rglob("*") if p.is_file())
    public = sorted(
        str(p.relative_to(REPO_ROOT / "public"))
        for p in (REPO_ROOT / "public").rglob("*")
        if p.is_file()
    )
    assert published == public
    assert not [path for path in published if path.endswith((".py", ".toml", ".json"))]


def test_rewrites_and_redirects_compile_to_routes():
    routes = json.loads((OUTPUT / "config.json").read_text())["routes"]
    destinations = [route.get("dest", "").split("?")[0] for route in routes]
    for rewrite in VERCEL_JSON["rewrites"]:
        assert rewrite["destination"] in destinations, rewrite
    redirects = [route for route in routes if route.get("status") in (301, 302, 307, 308)]
    assert {r["headers"]["Location"] for r in redirects} == {
        r["destination"] for r in VERCEL_JSON["redirects"]
    }


def test_cron_is_compiled():
    crons = json.loads((OUTPUT / "config.json").read_text()).get("crons", [])
    assert crons == VERCEL_JSON["crons"]
    assert {"/api/cron/inventory-alerts"} <= {cron["path"] for cron in crons}


# Installed by Vercel's Python builder itself, next to our dependencies.
BUILDER_INJECTED = {"vercel-runtime", "pip"}


def bundled_distributions(files: dict[str, str]) -> dict[str, str]:
    """Name -> version of every distribution installed into a bundle's `_vendor`."""
    found = {}
    for path in files:
        parts = path.split("/")
        if len(parts) > 2 and parts[0] == "_vendor" and parts[1].endswith(".dist-info"):
            name, version = parts[1].removesuffix(".dist-info").rsplit("-", 1)
            found[canonicalize_name(name)] = version
    return found


def test_every_bundle_installs_exactly_the_runtime_lock():
    locked = {
        name: pin.version
        for name, pin in read_lock(RUNTIME_LOCK).items()
        if pin.applies(VERCEL_ENVIRONMENT)
    }
    for name, vc_config in function_configs().items():
        bundled = bundled_distributions(vc_config["filePathMap"])
        assert {dist: bundled.get(dist) for dist in locked} == locked, name
        assert set(bundled) - set(locked) <= BUILDER_INJECTED, name


def test_the_admin_bundles_its_fingerprinted_static_files():
    """The build collected the admin's static files (pyproject.toml [tool.vercel.scripts]):
    the admin function bundles the manifest and serves the stylesheet by a hashed name."""
    files = function_configs()["admin"]["filePathMap"]
    assert "staticfiles/staticfiles.json" in files
    manifest = json.loads((REPO_ROOT / files["staticfiles/staticfiles.json"]).read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert re.fullmatch(r"admin/css/base\.[0-9a-f]{12}\.css", hashed)
    assert f"staticfiles/{hashed}" in files
