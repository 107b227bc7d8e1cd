"""Upay's payer return: GET /api/webhooks/upay?invoice_id=...&status=successful|failed|cancelled

Upay sends the payer's browser back to the `redirect_url` given at payment init (its public
documentation describes no server notification). The query is only a hint: `payment_settle`
asks Upay's single-payment-status API before anything is recorded, and the browser is sent on
to the storefront's result page (`lib.payments.returns`). Exempt from the API key and geo gate.
"""

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse
from django.urls import path

from lib.payments.returns import payer_return


def upay_return(request: HttpRequest) -> HttpResponse:
    return payer_return(request, provider="upay")


app = FunctionApp("webhooks_upay", [path("api/webhooks/upay", upay_return)])
