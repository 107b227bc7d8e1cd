"""Upay's payer return: GET /api/webhooks/upay?invoice_id=...&status=successful|failed|cancelled

Upay sends the payer's browser back to the `redirect_url` given at payment init (its public
documentation describes no server notification). The query is only a hint: `payment_settle`
asks Upay's single-payment-status API before anything is recorded, and the browser is sent on
to the storefront's result page. Exempt from the API key and geo gate.
"""

import logging
from urllib.parse import urlencode

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path

from lib.conf import config
from lib.errors import ApiError
from lib.payments.base import ProviderError

logger = logging.getLogger("zest.payments.upay")


def result_redirect(*, order: str, status: str) -> HttpResponseRedirect:
    query = urlencode({"order": order, "status": status})
    return HttpResponseRedirect(f"{config.storefront_url}/checkout/result?{query}")


def upay_return(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    from lib.payments.services import payment_settle

    data = request.GET.dict()
    try:
        payment = payment_settle(provider="upay", callback_data=data)
    except ProviderError as exc:
        logger.warning("upay return not settled: %s (%s)", exc, exc.code)
        return result_redirect(order="", status="pending" if exc.retryable else "failed")
    except ApiError as exc:
        # payment_unknown, payment_amount_mismatch (refused), payment_provider_error (Upay
        # unreachable: the reconciliation job settles it later).
        logger.warning("upay return refused: %s %s", exc.code, exc.status_code)
        pending = exc.code == "payment_provider_error" and exc.status_code == 504
        return result_redirect(order="", status="pending" if pending else "failed")
    except Exception:  # the payer must still land somewhere; the reconciliation job settles
        logger.exception("upay return failed")
        return result_redirect(order="", status="pending")
    return result_redirect(order=payment.order.number, status=payment.status)


app = FunctionApp("webhooks_upay", [path("api/webhooks/upay", upay_return)])
