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
                "E-commerce API for shops selling in Bangladesh. Every amount of money is "
                '`{"amount": "445.00", "currency": "BDT", "display": "৳445.00"}` (`Money`); '
                'errors are `{"error": {"code", "message", "fields"}}` (`ErrorOut`) in '
                "English or Bangla by `Accept-Language`. Every call sends `X-API-Key` (plus "
                "`X-API-Secret` for a secret key, or a signature); signed-in calls add "
                "`Authorization: Bearer <tokens.access_token>` from `/api/v1/auth/login`. Use "
                "**Authorize** to enter them; per-call headers (`Idempotency-Key`, "
                "`X-Cart-Token`) are parameters of the operations that read them."
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
    for key, value in error_schema_components().items():
        merged["components"]["schemas"].setdefault(key, value)
    document_access_and_errors(merged)
    return merged


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The calling application's key id (`zk_pub_...` publishable, for "
        "browsers, or `zk_sec_...` secret, for servers). Every call outside the exempt "
        "paths sends it.",
    },
    "ApiSecret": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Secret",
        "description": "A secret key's secret (`zk_secret_...`), sent by server-side callers "
        "beside `X-API-Key`; or sign the request instead (ApiSignature, ApiTimestamp).",
    },
    "ApiSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature",
        "description": "Instead of sending the secret: lower-case hex HMAC-SHA256 of "
        "`{timestamp}\\n{METHOD}\\n{path}?{query}\\n{sha256 hex of the body}` under the "
        "key `sha256 hex of the secret`. Computed per request, so it cannot be typed here: "
        "use ApiSecret on this page.",
    },
    "ApiTimestamp": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Timestamp",
        "description": "The signed request's Unix time in seconds (within "
        "`API_SIGNATURE_WINDOW`, 300 s by default); each signature is accepted once.",
    },
    "Bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A signed-in user's access token (`tokens.access_token` from "
        "`/api/v1/auth/login`); sent with an API key.",
    },
    "CronSecret": {
        "type": "http",
        "scheme": "bearer",
        "description": "Cron jobs: Vercel sends `Authorization: Bearer <CRON_SECRET>`.",
    },
}
# Ways a caller proves which application it is (one of them, on every non-exempt call).
API_KEY_REQUIREMENTS: list[dict[str, list[str]]] = [
    {"ApiKey": []},
    {"ApiKey": [], "ApiSecret": []},
    {"ApiKey": [], "ApiSignature": [], "ApiTimestamp": []},
]
CRON_PREFIX = "/api/cron/"
ERROR_SCHEMA = "ErrorOut"
ERROR_DESCRIPTIONS = {
    400: "`malformed_json`, or a bad header (`cart_token_invalid`)",
    401: "No or a wrong credential: `api_key_required`, `api_key_invalid`, "
    "`unauthenticated`, `token_expired`, ...",
    403: "Not allowed: `scope_denied` (the API key), `forbidden` (the user's role), "
    "`region_blocked` (outside Bangladesh)",
    404: "`not_found`",
    409: "Conflicts with the current state (the code says which)",
    422: "`validation_error` (each wrong field, header or parameter under `fields`) or a "
    "business rule the request breaks",
    429: "`rate_limited`: wait `Retry-After` seconds",
}


def operation_error_statuses(path: str, operation: dict[str, Any], user: bool) -> set[int]:
    """The 4xx answers an operation can give, from what it takes and how it is guarded."""
    statuses = {
        int(status) for status in operation.get("responses", {}) if str(status).startswith("4")
    }
    if operation.get("requestBody"):
        statuses |= {400, 422}
    parameters = operation.get("parameters", [])
    if parameters:
        statuses.add(422)
    if any(parameter["in"] == "header" for parameter in parameters):
        statuses.add(400)
    if "{" in path:
        statuses.add(404)
    if path.startswith(CRON_PREFIX):
        statuses.add(401)
    elif not is_exempt(path):
        statuses |= {401, 403, 429}
    if user:
        statuses |= {401, 403}
    return statuses


def document_access_and_errors(merged: dict[str, Any]) -> None:
    """One security scheme per credential, and the error envelope on every 4xx answer.

    Each function's schema names its route auth after the class (`Require`, ...), declared
    only where the route needs a signed-in user. Every non-exempt operation needs an API key
    (any of its three forms) and may carry a user's Bearer token (the access pipeline
    verifies it on every request; a route that needs a user refuses a call without one)."""
    components = merged["components"]
    components["securitySchemes"] = dict(SECURITY_SCHEMES)
    error_ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    for path, operations in merged["paths"].items():
        for operation in operations.values():
            user = bool(operation.get("security"))
            if path.startswith(CRON_PREFIX):
                operation["security"] = [{"CronSecret": []}]
            elif is_exempt(path):
                operation["security"] = []
            else:
                with_user = [{**alternative, "Bearer": []} for alternative in API_KEY_REQUIREMENTS]
                operation["security"] = with_user if user else API_KEY_REQUIREMENTS + with_user
            responses = {str(status): value for status, value in operation["responses"].items()}
            for status in operation_error_statuses(path, operation, user):
                responses[str(status)] = {
                    "description": ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": error_ref}},
                }
            operation["responses"] = dict(sorted(responses.items()))


def error_schema_components() -> dict[str, Any]:
    from ninja.openapi.schema import REF_TEMPLATE
    from ninja.schema import NinjaGenerateJsonSchema

    from lib.schemas import ErrorOut

    schema = ErrorOut.model_json_schema(
        ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema, mode="serialization"
    )
    definitions = schema.pop("$defs", {})
    return {**definitions, ERROR_SCHEMA: schema}


def merged_openapi_schema() -> dict[str, Any]:
    """Built once per process (the docs function's cold start)."""
    global _merged
    if _merged is None:
        with _lock:
            if _merged is None:
                _merged = merge_schemas(function_schemas())
    return _merged
