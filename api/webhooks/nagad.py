"""Nagad's payer return: GET /api/webhooks/nagad?payment_ref_id=...&order_id=...&status=...

Nagad sends the payer's browser back here (it has no server notification). The query is only
a hint: `payment_settle` verifies the payment with Nagad before anything is recorded, and the
browser is sent on to the storefront's result page. Exempt from the API key and geo gate.
"""

import logging
from urllib.parse import urlencode

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path

from lib.conf import config
from lib.errors import ApiError
from lib.payments.base import ProviderError

logger = logging.getLogger("zest.payments.nagad")


def result_redirect(*, order: str, status: str) -> HttpResponseRedirect:
    query = urlencode({"order": order, "status": status})
    return HttpResponseRedirect(f"{config.storefront_url}/checkout/result?{query}")


def nagad_return(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    from lib.payments.services import payment_settle

    try:
        payment = payment_settle(provider="nagad", callback_data=request.GET.dict())
    except ProviderError as exc:
        logger.warning("nagad return not settled: %s (%s)", exc, exc.code)
        return result_redirect(order="", status="pending" if exc.retryable else "failed")
    except ApiError as exc:  # refused (unknown payment, amount mismatch) or Nagad unreachable
        logger.warning("nagad return refused: %s %s", exc.code, getattr(exc, "fields", ""))
        return result_redirect(order="", status="pending" if exc.status_code == 504 else "failed")
    except Exception:  # the payer must still land somewhere; the reconciliation job settles
        logger.exception("nagad return failed")
        return result_redirect(order="", status="pending")
    return result_redirect(order=payment.order.number, status=payment.status)


app = FunctionApp("webhooks_nagad", [path("api/webhooks/nagad", nagad_return)])
