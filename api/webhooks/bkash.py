"""bKash's payer return: GET /api/webhooks/bkash?paymentID=...&status=success|failure|cancel

bKash sends the payer's browser back to the callbackURL given at `create`. The query is only a
hint: the payment is executed with bKash server to server, at most once however many returns
arrive (a `status` other than success is only queried), before anything is recorded, and the
browser is sent on to the storefront's result page (`lib.payments.returns`).
Exempt from the API key and geo gate (lib/access/paths.py).
"""

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse
from django.urls import path

from lib.payments.returns import payer_return


def bkash_return(request: HttpRequest) -> HttpResponse:
    return payer_return(request, provider="bkash")


app = FunctionApp("webhooks_bkash", [path("api/webhooks/bkash", bkash_return)])
