"""Pathao's order status webhook: POST /api/webhooks/pathao

Pathao posts one JSON event per status change (`order.created` ... `order.delivered`,
`order.paid` with the invoice id of the COD payout) with our secret, verbatim, in
`X-PATHAO-Signature`; the same URL gets the `webhook_integration` handshake when the URL is
saved in the merchant panel. Every answer is 202 with Pathao's fixed
`X-Pathao-Merchant-Webhook-Integration-Secret` header, or the panel disables the webhook.
A wrong secret is refused (401) and nothing is stored; see lib/couriers/webhooks.py.
Exempt from the API key and geo gate (lib/access/paths.py).
"""

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from lib.couriers.webhooks import courier_webhook_handle


@csrf_exempt
def pathao_webhook(request: HttpRequest) -> HttpResponse:
    return courier_webhook_handle(request, courier="pathao")


app = FunctionApp("webhooks_pathao", [path("api/webhooks/pathao", pathao_webhook)])
