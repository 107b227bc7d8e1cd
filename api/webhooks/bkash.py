"""bKash's payer return: GET /api/webhooks/bkash?paymentID=...&status=success|failure|cancel

bKash sends the payer's browser back to the callbackURL given at `create`. The query is only a
hint: `payment_settle` executes (or queries) the payment with bKash server to server before
anything is recorded, and the browser is sent on to the storefront's result page.
Exempt from the API key and geo gate (lib/access/paths.py).
"""

import logging
from urllib.parse import urlencode

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path

from lib.conf import config
from lib.errors import ApiError
from lib.payments.base import ProviderError
from lib.payments.services import payment_settle

logger = logging.getLogger("zest.payments.bkash")


def result_redirect(*, order: str, status: str) -> HttpResponseRedirect:
    query = urlencode({"order": order, "status": status})
    return HttpResponseRedirect(f"{config.storefront_url}/checkout/result?{query}")


def bkash_return(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    try:
        payment = payment_settle(provider="bkash", callback_data=request.GET.dict())
    except ProviderError as exc:
        logger.warning("bkash return not settled: %s (%s)", exc, exc.code)
        return result_redirect(order="", status="pending" if exc.retryable else "failed")
    except ApiError as exc:
        logger.warning("bkash return refused: %s", exc)
        return result_redirect(order="", status="failed")
    except Exception:  # the payer must still land somewhere; the reconciliation job settles
        logger.exception("bkash return failed")
        return result_redirect(order="", status="pending")
    return result_redirect(order=payment.order.number, status=payment.status)


app = FunctionApp("webhooks_bkash", [path("api/webhooks/bkash", bkash_return)])
