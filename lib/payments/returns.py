"""The payer's browser coming back from a provider's page: settle, then send them on.

The return itself proves nothing; `payment_settle` confirms with the provider server to
server. Whatever happens, the payer lands on the storefront's result page: `pending` when the
outcome is not known yet (the provider was unreachable; the reconciliation cron settles it),
`failed` when the return was refused.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect

from lib.conf import config
from lib.errors import ApiError
from lib.payments.base import ProviderError

logger = logging.getLogger("zest.payments.returns")
PROVIDER_UNREACHABLE = 504  # payment_settle's status when the provider did not answer


def result_redirect(*, order: str, status: str) -> HttpResponseRedirect:
    query = urlencode({"order": order, "status": status})
    return HttpResponseRedirect(f"{config.storefront_url}/checkout/result?{query}")


def payer_return(request: HttpRequest, *, provider: str) -> HttpResponse:
    """A GET return (bKash, Nagad, Upay): settle from the query string, then redirect."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    from lib.payments.services import payment_settle  # the settlement machinery on first use

    try:
        payment = payment_settle(provider=provider, callback_data=request.GET.dict())
    except ProviderError as exc:
        logger.warning("%s return not settled: %s (%s)", provider, exc, exc.code)
        return result_redirect(order="", status="pending" if exc.retryable else "failed")
    except ApiError as exc:  # unknown payment, amount mismatch, or the provider unreachable
        logger.warning("%s return refused: %s %s", provider, exc.code, exc.status_code)
        unknown = exc.status_code == PROVIDER_UNREACHABLE
        return result_redirect(order="", status="pending" if unknown else "failed")
    except Exception:  # the payer must still land somewhere; the reconciliation job settles
        logger.exception("%s return failed", provider)
        return result_redirect(order="", status="pending")
    return result_redirect(order=payment.order.number, status=payment.status)
