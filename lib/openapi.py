"""One OpenAPI document for the whole API, merged from every function's own schema."""

from __future__ import annotations

import copy
import importlib
import threading
from pathlib import Path
from typing import Any

from lib.access.paths import is_exempt
from lib.conf import REPO_ROOT

API_DIR = REPO_ROOT / "api"
DOCS_FUNCTION = "docs"
_lock = threading.Lock()
_merged: dict[str, Any] | None = None


def function_names(api_dir: Path = API_DIR) -> list[str]:
    """Every Vercel function of the project: `api/**/<name>.py` minus private files, named by
    their path under `api/` (`catalog`, `webhooks/bkash`)."""
    names = (path.relative_to(api_dir).with_suffix("").as_posix() for path in api_dir.rglob("*.py"))
    return sorted(
        name for name in names if not any(part.startswith(("_", ".")) for part in name.split("/"))
    )


def function_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for name in function_names():
        if name == DOCS_FUNCTION:
            continue
        schema = importlib.import_module(f"api.{name.replace('/', '.')}").app.openapi_schema()
        if schema:
            schemas[name] = schema
    return schemas


def merge_schemas(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Zest Store API",
            "version": "1",
            "description": (
                "E-commerce API for shops selling in Bangladesh. Money is BDT with two "
                'decimals; errors are `{"error": {"code", "message", "fields"}}` in '
                "English or Bangla by `Accept-Language`. Every call sends `X-API-Key` (plus "
                "`X-API-Secret` for a secret key); signed-in calls add `Authorization: Bearer "
                "<access token>` from `/api/v1/auth/login`. Use **Authorize** to enter them."
            ),
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    seen_tags: set[str] = set()
    for name, schema in schemas.items():
        for path, operations in schema.get("paths", {}).items():
            if path in merged["paths"]:
                raise ValueError(f"{path} is served by two functions (second: {name})")
            merged["paths"][path] = copy.deepcopy(operations)
            for operation in operations.values():
                for tag in operation.get("tags", []):
                    if tag not in seen_tags:
                        seen_tags.add(tag)
                        merged["tags"].append({"name": tag, "x-function": name})
        components = schema.get("components", {})
        for section in ("schemas", "securitySchemes"):
            for key, value in components.get(section, {}).items():
                existing = merged["components"][section].setdefault(key, value)
                if existing != value:
                    raise ValueError(f"components.{section}.{key} differs between functions")
    add_api_key_requirements(merged)
    return merged


API_KEY_SCHEMES = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The calling application's key id (publishable or secret key).",
    },
    "ApiSecret": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Secret",
        "description": "A secret key's secret (server-side callers; or sign the request).",
    },
}


def add_api_key_requirements(merged: dict[str, Any]) -> None:
    """Every non-exempt operation needs an API key: a publishable key alone, or a secret key
    with its secret; on top of what the route itself requires (a signed-in user)."""
    merged["components"]["securitySchemes"].update(API_KEY_SCHEMES)
    for path, operations in merged["paths"].items():
        if is_exempt(path):
            continue
        for operation in operations.values():
            own = operation.get("security") or [{}]
            operation["security"] = [{**requirement, "ApiKey": []} for requirement in own] + [
                {**requirement, "ApiKey": [], "ApiSecret": []} for requirement in own
            ]


def merged_openapi_schema() -> dict[str, Any]:
    """Built once per process (the docs function's cold start)."""
    global _merged
    if _merged is None:
        with _lock:
            if _merged is None:
                _merged = merge_schemas(function_schemas())
    return _merged
