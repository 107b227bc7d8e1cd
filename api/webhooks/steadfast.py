"""Steadfast's delivery webhook: POST /api/webhooks/steadfast

Steadfast posts JSON with `Authorization: Bearer <the token entered in its merchant panel>`
(STEADFAST_WEBHOOK_TOKEN): `notification_type` "delivery_status" (`status`, the cash collected
as `cod_amount`, `delivery_charge`) or "tracking_update" (a free-text `tracking_message`,
stored, never moving the order). The answer is 200 `{"status": "success", "message":
"Webhook received successfully."}`. A wrong token is refused (401) and nothing is stored;
see lib/couriers/webhooks.py and lib/couriers/steadfast.py.
Exempt from the API key and geo gate (lib/access/paths.py).
"""

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from lib.couriers.webhooks import courier_webhook_handle


@csrf_exempt
def steadfast_webhook(request: HttpRequest) -> HttpResponse:
    return courier_webhook_handle(request, courier="steadfast")


app = FunctionApp("webhooks_steadfast", [path("api/webhooks/steadfast", steadfast_webhook)])
