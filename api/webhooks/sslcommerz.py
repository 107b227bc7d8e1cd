"""POST /api/webhooks/sslcommerz: SSLCommerz's browser returns and its IPN (Rocket included).

One view for the four posts; the `event` query parameter our session URLs carry tells them
apart (`success`, `fail`, `cancel` from the payer's browser, `ipn` from SSLCommerz's server).
The browser returns are cross-site form POSTs, so there is no CSRF check; what makes them safe
is `verify_sign` and the server-to-server validation done in `payment_settle`. The browser is
redirected to the storefront's result page (`lib.payments.returns`: paid, pending, failed or
cancelled, with the order number); the IPN is answered 200 "OK".
"""

import logging

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from lib.errors import ApiError
from lib.payments.base import ProviderError
from lib.payments.returns import payer_landing

PROVIDER = "sslcommerz"
logger = logging.getLogger("zest.payments.sslcommerz")


def ipn_refused(exc: ApiError | ProviderError) -> HttpResponse:
    """Retryable (the provider or our database is down): 503, so the IPN may come again;
    refused (bad signature, unknown payment, mismatch): 4xx."""
    retryable = exc.retryable if isinstance(exc, ProviderError) else exc.status_code >= 503
    refused = getattr(exc, "status_code", 400)
    status = 503 if retryable else (refused if refused < 500 else 400)
    logger.warning("sslcommerz ipn refused: %s", exc.code)
    return HttpResponse(exc.code, status=status, content_type="text/plain")


@csrf_exempt
@require_POST
def sslcommerz(request: HttpRequest) -> HttpResponse:
    event = request.GET.get("event", "")
    data = request.POST.dict()
    if event != "ipn":  # the payer's browser: success, fail or cancel
        return payer_landing(provider=PROVIDER, callback_data=data, hint=event)
    from lib.payments.services import payment_settle

    try:
        payment_settle(provider=PROVIDER, callback_data=data)
    except (ApiError, ProviderError) as exc:
        return ipn_refused(exc)
    return HttpResponse("OK", content_type="text/plain")


app = FunctionApp("webhooks_sslcommerz", [path("api/webhooks/sslcommerz", sslcommerz)])
