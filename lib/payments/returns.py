"""The payer's browser coming back from a provider's page: settle, then send them on.

The return itself proves nothing; `payment_settle_located` confirms with the provider server
to server. Whatever happens, the payer lands on the storefront's result page,
`{STOREFRONT_URL}/checkout/result?order=<order number>&status=<result>` (STOREFRONT_URL,
`config.storefront_url`, defaults to http://localhost:3000), with one vocabulary for every
provider:

* `paid`: we recorded the capture (the provider confirmed the amount);
* `pending`: the outcome is not known yet (the provider was unreachable, or says the payment
  is still open); the reconciliation cron settles it, the storefront polls the order;
* `failed`: the payment failed, or the return was refused (unknown payment, bad signature,
  amount mismatch);
* `cancelled`: the payer cancelled.

`order` is the order's number whenever the return names a payment we started (also on
failure and cancel: the payment is looked up before the provider is asked), and empty only
when it does not. While our record of the payment is still open, a return that itself says
failure or cancel lands on `failed` / `cancelled` (nothing was captured); the record keeps
what the provider says.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect

from lib.conf import config
from lib.errors import ApiError
from lib.payments.base import ProviderError

if TYPE_CHECKING:
    from db.models import Payment

logger = logging.getLogger("zest.payments.returns")

PAID, PENDING, FAILED, CANCELLED = "paid", "pending", "failed", "cancelled"
# Our payment status -> the result page's status (anything else is still open: pending).
LANDING = {
    "captured": PAID,
    "partially_refunded": PAID,
    "refunded": PAID,
    "failed": FAILED,
    "cancelled": CANCELLED,
}
# What the providers' returns say when the payer did not pay: bKash `status=failure|cancel`,
# Nagad `Failed|Aborted`, Upay `failed|cancelled`, SSLCommerz's fail/cancel URLs.
RETURN_HINTS = {
    "failure": FAILED,
    "failed": FAILED,
    "fail": FAILED,
    "cancel": CANCELLED,
    "cancelled": CANCELLED,
    "canceled": CANCELLED,
    "aborted": CANCELLED,
}


def result_redirect(*, order: str, status: str) -> HttpResponseRedirect:
    query = urlencode({"order": order, "status": status})
    return HttpResponseRedirect(f"{config.storefront_url}/checkout/result?{query}")


def landing_status(payment: Payment, *, hint: str = "") -> str:
    """The result page's status for `payment` as we recorded it; `hint` (what the return
    says) only speaks for a payment still open, and only of failure or cancel."""
    status = LANDING.get(str(payment.status))
    if status is not None:
        return status
    return RETURN_HINTS.get(hint.strip().lower(), PENDING)


def refusal_status(exc: Exception) -> str:
    """The result page's status when settling raised: pending when the outcome may still
    come (the provider did not answer, our side failed), failed when the return was refused."""
    if isinstance(exc, ProviderError):
        return PENDING if exc.retryable else FAILED
    if isinstance(exc, ApiError):
        return PENDING if exc.status_code >= 503 else FAILED
    return PENDING


def payer_landing(*, provider: str, callback_data: dict, hint: str = "") -> HttpResponseRedirect:
    """Settle a payer's return at `provider`'s webhook, then redirect to the result page."""
    from lib.payments.services import payment_locate, payment_settle_located  # on first use

    try:
        payment = payment_locate(provider=provider, callback_data=callback_data)
    except ApiError as exc:
        logger.warning("%s return refused: %s %s", provider, exc.code, exc.status_code)
        return result_redirect(order="", status=refusal_status(exc))
    except Exception as exc:
        logger.exception("%s return could not be looked up", provider)
        return result_redirect(order="", status=refusal_status(exc))
    order = payment.order.number
    try:
        settled = payment_settle_located(payment, callback_data=callback_data)
    except (ProviderError, ApiError) as exc:
        logger.warning("%s return for %s not settled: %s", provider, order, exc)
        return result_redirect(order=order, status=refusal_status(exc))
    except Exception as exc:  # the payer must still land somewhere; the reconcile cron settles
        logger.exception("%s return for %s failed", provider, order)
        return result_redirect(order=order, status=refusal_status(exc))
    return result_redirect(order=order, status=landing_status(settled, hint=hint))


def payer_return(request: HttpRequest, *, provider: str) -> HttpResponse:
    """A GET return (bKash, Nagad, Upay): settle from the query string, then redirect."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    data = request.GET.dict()
    return payer_landing(provider=provider, callback_data=data, hint=str(data.get("status", "")))
