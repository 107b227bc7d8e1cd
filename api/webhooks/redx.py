"""RedX's parcel status webhook: POST /api/webhooks/redx?token=<REDX_WEBHOOK_TOKEN>

RedX posts `{tracking_number, timestamp, status, message_en, message_bn, invoice_number}` for
each status change to the callback URL registered in its merchant panel. RedX signs nothing
and sends no secret header: the token travels in that URL's query string. A wrong or missing
token is refused (401) and nothing is stored; an undocumented status is stored as unknown.
RedX documents no reply: 200 `{"status": "ok"}`. See lib/couriers/webhooks.py.
Exempt from the API key and geo gate (lib/access/paths.py).
"""

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from lib.couriers.webhooks import courier_webhook_handle


@csrf_exempt
def redx_webhook(request: HttpRequest) -> HttpResponse:
    return courier_webhook_handle(request, courier="redx")


app = FunctionApp("webhooks_redx", [path("api/webhooks/redx", redx_webhook)])
