"""Nagad's payer return: GET /api/webhooks/nagad?payment_ref_id=...&order_id=...&status=...

Nagad sends the payer's browser back here (it has no server notification). The query is only
a hint: the payment is verified with Nagad (`verify/payment/{paymentRefId}`, the reference a
long base64 string) before anything is recorded, and the browser is sent on to the storefront's
result page (`lib.payments.returns`). Exempt from the API key and geo gate.
"""

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse
from django.urls import path

from lib.payments.returns import payer_return


def nagad_return(request: HttpRequest) -> HttpResponse:
    return payer_return(request, provider="nagad")


app = FunctionApp("webhooks_nagad", [path("api/webhooks/nagad", nagad_return)])
