"""A courier's status webhook, the same for every courier: `courier_webhook_handle`.

1. `webhook_authentic` (the courier's shared secret or token, compared in constant time):
   401 JSON error otherwise, and nothing is stored;
2. the body must be a JSON object: 400 otherwise;
3. `webhook_parse` gives the updates ([] for handshakes and unrelated notifications; a payload
   it cannot read is logged whole), each applied with `consignment_update_apply` (stored,
   deduplicated, forward only);
4. the courier's expected reply (`webhook_reply`), also for an unknown consignment or status,
   so the courier does not keep retrying or disable the webhook. A failure of our own
   (database down) answers 503 so the courier may send it again.
"""

from __future__ import annotations

import json
import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse

from lib.couriers.base import CourierError
from lib.couriers.registry import courier_for
from lib.couriers.tracking import consignment_update_apply
from lib.errors import ApiError, error_response

logger = logging.getLogger("zest.couriers")


def webhook_payload(request: HttpRequest) -> dict | None:
    try:
        payload = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def courier_webhook_handle(request: HttpRequest, *, courier: str) -> HttpResponse:
    """Handle one webhook POST from `courier` (see the module docstring)."""
    if request.method != "POST":
        return error_response(request, 405, headers={"Allow": "POST"})
    try:
        adapter = courier_for(courier)
    except CourierError:
        logger.exception("%s webhook: no adapter", courier)
        return error_response(request, 503, "service_unavailable")
    if not adapter.webhook_authentic(headers=request.headers, query=request.GET):
        logger.warning("%s webhook refused: not authentic", courier)
        return error_response(request, 401, "webhook_unauthenticated")
    payload = webhook_payload(request)
    if payload is None:
        return error_response(request, 400, "malformed_json")
    try:
        updates = adapter.webhook_parse(payload=payload)
    except (CourierError, ValueError, KeyError, TypeError, AttributeError):
        logger.exception("%s webhook not understood: %s", courier, payload)
        updates = []
    for update in updates:
        try:
            consignment_update_apply(courier=courier, update=update, source="webhook")
        except DatabaseError:
            logger.exception("%s webhook: not stored", courier)
            return error_response(request, 503, "service_unavailable")
        except ApiError as error:  # the order refused the move: stored nothing, logged
            logger.error("%s webhook %s not applied: %s", courier, update, error.code)
    reply = adapter.webhook_reply(payload=payload)
    response = JsonResponse(reply.body, status=reply.status)
    for name, value in reply.headers.items():
        response[name] = value
    return response
