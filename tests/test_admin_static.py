"""The admin's static files as a deploy serves them: collected with fingerprinted names and a
manifest by the build step, referenced by those names and cached for good."""

from __future__ import annotations

import json
import re
import tomllib

from lib.conf import REPO_ROOT
from tests.support import run_python

SERVE = """
import json, sys
import api.admin
from django.conf import settings
from tests.support import call

page = call(api.admin.app, "GET", "/admin/login/", isolated=True)
css = [m for m in page.body.decode().split('"') if m.startswith("/static/admin/css/base")]
asset = call(api.admin.app, "GET", css[0], isolated=True) if css else None
plain = call(api.admin.app, "GET", "/static/admin/css/base.css", isolated=True)
print(json.dumps({
    "storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "status": page.status, "css": css,
    "asset": [asset.status, asset.headers.get("cache-control", "")] if asset else None,
    "plain": [plain.status, plain.headers.get("cache-control", "")],
}))
"""


def collect(root) -> str:
    done = run_python("from lib.access.admin_static import main; main()", env={"STATIC_ROOT": root})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_build_collects_fingerprinted_files_once(tmp_path):
    root = str(tmp_path / "static")
    assert collect(root) == "static files collected"
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert re.fullmatch(r"admin/css/base\.[0-9a-f]{12}\.css", hashed)
    assert (tmp_path / "static" / hashed).is_file()
    assert collect(root) == "static files up to date"  # the next function's build


def test_a_deployed_admin_references_and_caches_hashed_names(tmp_path):
    root = str(tmp_path / "static")
    collect(root)
    served = run_python(SERVE, env={"STATIC_ROOT": root})
    assert served.returncode == 0, served.stderr
    seen = json.loads(served.stdout.strip().splitlines()[-1])
    assert seen["storage"].endswith("ManifestStaticFilesStorage")
    assert seen["status"] == 200
    hashed = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    assert seen["css"] == ["/static/" + hashed["admin/css/base.css"]]
    status, cache = seen["asset"]
    assert status == 200 and "immutable" in cache and "max-age=315360000" in cache
    assert seen["plain"][0] == 200 and "immutable" not in seen["plain"][1]


def test_without_a_manifest_the_admin_uses_plain_names(tmp_path):
    served = run_python(SERVE, env={"STATIC_ROOT": str(tmp_path / "empty")})
    assert served.returncode == 0, served.stderr
    seen = json.loads(served.stdout.strip().splitlines()[-1])
    assert seen["storage"].endswith(".StaticFilesStorage")
    assert seen["css"] == ["/static/admin/css/base.css"]


def test_the_vercel_install_step_collects_the_static_files():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    install = pyproject["tool"]["vercel"]["scripts"]["vercel-install"]
    assert install.endswith("&& python -m lib.access.admin_static")
