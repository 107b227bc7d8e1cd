"""GraphQL over HTTP for /api/graphql: requests in, `application/json` responses out.

- `GET /api/graphql?query=...&variables=<JSON>&operationName=...` and
  `POST /api/graphql` with a JSON body `{"query", "variables", "operationName", "extensions"}`.
- A well-formed request gets HTTP 200 with `{"data": ..., "errors": [...]}`, including when the
  document does not parse or validate, or a field fails (the spec's rule for `application/json`).
- A request that is not a GraphQL request (body not JSON, no `query`, wrong parameter types)
  gets 400 (415 for a body that is not JSON at all, 405 for other methods), still in the
  GraphQL shape `{"errors": [{"message", "extensions": {"code"}}]}`.
- Every error carries `extensions.code`; errors raised by our code keep their code from
  `lib.errors` and their message in the caller's language.
- Parsed and validated documents are cached per process, keyed by the query text.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from lib.runtime import capture_exception

from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_vary_headers
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    execute_sync,
    parse,
    specified_rules,
    validate,
)

from lib.errors import ApiError, translate
from lib.graphql.limits import QueryLimitsRule
from lib.graphql.loaders import GraphQLContext
from lib.graphql.schema import schema
from lib.i18n import request_language
from lib.input_guard import json_body_parse

ALLOWED_METHODS = ("GET", "POST")
MAX_QUERY_LENGTH = 20_000
MAX_TOKENS = 5_000
VALIDATION_RULES = (*specified_rules, QueryLimitsRule)


class BadRequest(Exception):
    """Not a GraphQL request: answered before anything is parsed or run."""

    def __init__(self, code: str, status: int = 400, detail: str | None = None) -> None:
        super().__init__(detail or code)
        self.code = code
        self.status = status
        self.detail = detail


# --- reading the request ----------------------------------------------------------------


def refused_input(exc: ApiError) -> BadRequest:
    return BadRequest(exc.code, status=exc.status_code, detail=f"({', '.join(exc.fields)})")


def json_object(raw: Any, name: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):  # GET sends variables and extensions JSON-encoded
        try:
            raw = json_body_parse(raw)
        except ValueError:
            raise BadRequest("bad_request", detail=f"`{name}` must be a JSON object.") from None
        except ApiError as exc:  # a NUL in a string (lib.input_guard)
            raise refused_input(exc) from None
    if raw is not None and not isinstance(raw, Mapping):
        raise BadRequest("bad_request", detail=f"`{name}` must be a JSON object.")
    return raw


def request_params(request: HttpRequest) -> dict[str, Any]:
    """The GraphQL request (`query`, `variables`, `operationName`) of a GET or POST."""
    if request.method == "GET":
        params: Mapping[str, Any] = request.GET
    else:
        content_type = request.content_type or ""
        if content_type != "application/json":
            raise BadRequest("unsupported_media_type", status=415)
        try:
            params = json_body_parse(request.body)
        except ValueError:
            raise BadRequest("malformed_json") from None
        except ApiError as exc:  # a NUL in a string (lib.input_guard)
            raise refused_input(exc) from None
        if not isinstance(params, dict):
            raise BadRequest("bad_request", detail="The body must be one JSON object.")
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("bad_request", detail="`query` must be a non-empty string.")
    operation_name = params.get("operationName") or None
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequest("bad_request", detail="`operationName` must be a string.")
    json_object(params.get("extensions"), "extensions")  # accepted, none understood
    return {
        "query": query,
        "variables": json_object(params.get("variables"), "variables"),
        "operation_name": operation_name,
    }


# --- running it -------------------------------------------------------------------------


@lru_cache(maxsize=256)
def document_for(query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    """The parsed document, or why it is refused; the same text validates the same way."""
    if len(query) > MAX_QUERY_LENGTH:
        message = f"The query is longer than {MAX_QUERY_LENGTH} characters."
        return None, (GraphQLError(message),)
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return None, (error,)
    except RecursionError:
        return None, (GraphQLError("The query is nested too deeply."),)
    errors = validate(schema, document, VALIDATION_RULES)
    return (None, tuple(errors)) if errors else (document, ())


def graphql_run(request: HttpRequest, params: dict[str, Any]) -> ExecutionResult:
    document, errors = document_for(params["query"])
    if document is None:
        return ExecutionResult(data=None, errors=list(errors))
    return execute_sync(
        schema,
        document,
        context_value=GraphQLContext.for_request(request),
        variable_values=params["variables"],
        operation_name=params["operation_name"],
    )


# --- answering --------------------------------------------------------------------------


def error_code(error: GraphQLError) -> str:
    if error.path is None:
        return "graphql_validation_failed" if error.nodes else "graphql_parse_failed"
    return "graphql_field_error"


def error_format(request: HttpRequest, error: GraphQLError) -> dict[str, Any]:
    """The spec's error shape; our own failures keep their code and translated message."""
    formatted = error.formatted
    original = error.original_error
    if isinstance(original, ApiError):
        language = request_language(request)
        formatted["message"] = original.message or translate(original.code, language)
        formatted["extensions"] = {"code": original.code, "fields": original.fields}
    elif original is not None and error.path is not None:
        # A resolver failed (a bug): do not leak its text, do report it. Without a path the
        # original error is a rejected input value (the Decimal scalar's), the caller's fault.
        capture_exception(original)
        formatted["message"] = translate("internal_error", request_language(request))
        formatted["extensions"] = {"code": "internal_error"}
    else:
        # A copy: the error may be cached with its document (`document_for`).
        formatted["extensions"] = {**(error.extensions or {}), "code": error_code(error)}
    return formatted


def graphql_json(request: HttpRequest, body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    patch_vary_headers(response, ("Accept-Language",))
    return response


def graphql_response(request: HttpRequest) -> JsonResponse:
    """Answer one GraphQL-over-HTTP request."""
    if request.method not in ALLOWED_METHODS:
        response = refusal(request, BadRequest("method_not_allowed", status=405))
        response["Allow"] = ", ".join(ALLOWED_METHODS)
        return response
    try:
        params = request_params(request)
    except BadRequest as exc:
        return refusal(request, exc)
    result = graphql_run(request, params)
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [error_format(request, error) for error in result.errors]
    if result.data is not None or result.errors is None or any(e.path for e in result.errors):
        body["data"] = result.data
    return graphql_json(request, body)


def refusal(request: HttpRequest, exc: BadRequest) -> JsonResponse:
    message = translate(exc.code, request_language(request))
    if exc.detail:
        message = f"{message} {exc.detail}"
    return graphql_json(
        request, {"errors": [{"message": message, "extensions": {"code": exc.code}}]}, exc.status
    )
