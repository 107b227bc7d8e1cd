"""POST /api/webhooks/sslcommerz: SSLCommerz's browser returns and its IPN (Rocket included).

One view for the four posts; the `event` query parameter our session URLs carry tells them
apart (`success`, `fail`, `cancel` from the payer's browser, `ipn` from SSLCommerz's server).
The browser returns are cross-site form POSTs, so there is no CSRF check; what makes them safe
is `verify_sign` and the server-to-server validation done in `payment_settle`. The browser is
redirected to the storefront's result page; the IPN is answered 200 "OK".
"""

import logging

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from lib.errors import ApiError
from lib.payments.base import ProviderError
from lib.payments.returns import result_redirect

PROVIDER = "sslcommerz"
BROWSER_EVENTS = ("success", "fail", "cancel")
logger = logging.getLogger("zest.payments.sslcommerz")


def payment_result(payment) -> str:
    status = str(payment.status)
    if status in ("captured", "partially_refunded", "refunded"):
        return "paid"
    if status in ("failed", "cancelled"):
        return status
    return "pending"


@csrf_exempt
@require_POST
def sslcommerz(request: HttpRequest) -> HttpResponse:
    from lib.payments.services import payment_settle

    event = request.GET.get("event", "")
    data = request.POST.dict()
    order = str(data.get("tran_id", ""))[:64]
    try:
        payment = payment_settle(provider=PROVIDER, callback_data=data)
    except (ApiError, ProviderError) as exc:
        retryable = exc.retryable if isinstance(exc, ProviderError) else exc.status_code >= 503
        code = exc.code
        logger.warning("sslcommerz %s refused: %s", event or "post", code)
        if event == "ipn":
            # Retryable (the provider or our database is down): 503, so the IPN may come again;
            # refused (bad signature, unknown payment, mismatch): 4xx.
            refused = getattr(exc, "status_code", 400)
            status = 503 if retryable else (refused if refused < 500 else 400)
            return HttpResponse(code, status=status, content_type="text/plain")
        return result_redirect(order=order, status="pending" if retryable else "failed")
    except Exception:
        if event == "ipn":
            raise
        logger.exception("sslcommerz %s could not be settled", event or "post")
        return result_redirect(order=order, status="pending")
    if event == "ipn":
        return HttpResponse("OK", content_type="text/plain")
    order_number = getattr(getattr(payment, "order", None), "number", "") or order
    return result_redirect(order=order_number, status=payment_result(payment))


app = FunctionApp("webhooks_sslcommerz", [path("api/webhooks/sslcommerz", sslcommerz)])
