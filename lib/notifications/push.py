"""Web push: VAPID-signed (RFC 8292), aes128gcm-encrypted (RFC 8291) messages POSTed to each
browser's push service (RFC 8030), one outbox message per subscription (topic `push.send`).

- The key pair comes from `VAPID_PRIVATE_KEY` (PEM, or the raw 32-byte key base64url-encoded
  as web-push tools print it). Outside production, with none set, a development key is
  generated once into the data dir (`.zest/vapid-private.pem`, never committed).
- The push service's answer decides: 201/202 delivered; 404/410 the subscription is gone and
  deleted (permanent); 429 and 5xx (and network errors) are retried by the outbox with
  backoff; any other 4xx is a permanent refusal.
"""

from __future__ import annotations

import base64
import json
import threading
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F
from django.utils import timezone

from db.models import Notification, PushSubscription
from lib import conf
from lib.notifications.deliveries import delivery_failed, delivery_is_sent, delivery_sent

DEV_KEY_FILE = "vapid-private.pem"
# Largest plaintext that fits one 4096-byte aes128gcm record with its header (RFC 8291 §4).
MAX_PAYLOAD = 3800
URGENT_CATEGORIES = frozenset({"order", "account", "chat"})
_key_lock = threading.Lock()


class PushError(Exception):
    """A push service's refusal; `retryable` tells the outbox whether to try again."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_key_load(text: str) -> ec.EllipticCurvePrivateKey:
    if "BEGIN" in text:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        raw = b64url_decode(text.strip())
        if len(raw) == 32:
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        else:
            key = serialization.load_der_private_key(raw, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ImproperlyConfigured("VAPID_PRIVATE_KEY must be a P-256 private key")
    return key


def dev_private_key() -> ec.EllipticCurvePrivateKey:
    """The local development key, generated into the data dir on first use."""
    file = conf.config.data_dir / DEV_KEY_FILE
    with _key_lock:
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            file.write_bytes(pem)
            file.chmod(0o600)
        return private_key_load(file.read_text())


@cache
def vapid_private_key() -> ec.EllipticCurvePrivateKey:
    settings = conf.notification_config
    if settings.vapid_private_key:
        key = private_key_load(settings.vapid_private_key)
    elif conf.config.is_production:
        raise ImproperlyConfigured("VAPID_PRIVATE_KEY must be set in production")
    else:
        key = dev_private_key()
    if settings.vapid_public_key and settings.vapid_public_key != public_key_of(key):
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY")
    return key


def public_key_of(key: ec.EllipticCurvePrivateKey) -> str:
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def vapid_public_key() -> str:
    """The application server key browsers pass to `pushManager.subscribe()` (base64url)."""
    return public_key_of(vapid_private_key())


def vapid_authorization(endpoint: str) -> str:
    """`vapid t=<ES256 JWT>,k=<public key>` for the push service of `endpoint` (RFC 8292)."""
    from py_vapid import Vapid02

    parts = urlsplit(endpoint)
    vapid = Vapid02(private_key=vapid_private_key())
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(timezone.now().timestamp()) + 12 * 3600,
        "sub": conf.notification_config.vapid_subject,
    }
    return vapid.sign(claims)["Authorization"]


def push_encrypt(plaintext: bytes, *, p256dh: str, auth: str) -> bytes:
    """The aes128gcm body (RFC 8291) for the subscriber's keys, with a fresh sender key."""
    import http_ece

    return http_ece.encrypt(
        plaintext,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=b64url_decode(p256dh),
        auth_secret=b64url_decode(auth),
        version="aes128gcm",
    )


def push_message(notification: Notification, language: str) -> dict[str, Any]:
    """What the service worker shows: the notification in the user's language."""
    bn = language == "bn"
    message = {
        "id": str(notification.pk),
        "kind": notification.kind,
        "title": notification.title_bn if bn else notification.title_en,
        "body": notification.body_bn if bn else notification.body_en,
        "url": notification.url,
    }
    encoded = json.dumps(message, ensure_ascii=False).encode()
    if len(encoded) > MAX_PAYLOAD:  # long bodies are cut; the feed holds the whole text
        overflow = len(encoded) - MAX_PAYLOAD
        message["body"] = message["body"].encode()[: -overflow - 3].decode(errors="ignore") + "…"
    return message


def push_deliver(payload: dict[str, Any]) -> None:
    """Outbox handler of "push.send": `{"notification", "subscription", "delivery"}`."""
    delivery_id = payload.get("delivery")
    if delivery_is_sent(delivery_id):
        return
    subscription = PushSubscription.objects.filter(pk=payload["subscription"]).first()
    notification = (
        Notification.objects.select_related("user").filter(pk=payload["notification"]).first()
    )
    if subscription is None or notification is None:
        gone = PushError("the subscription was removed", retryable=False)
        delivery_failed(delivery_id, gone)
        return
    body = json.dumps(
        push_message(notification, notification.user.preferred_language), ensure_ascii=False
    ).encode()
    settings = conf.notification_config
    try:
        response = httpx.post(
            subscription.endpoint,
            content=push_encrypt(body, p256dh=subscription.p256dh, auth=subscription.auth),
            headers={
                "Authorization": vapid_authorization(subscription.endpoint),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(settings.push_ttl),
                "Urgency": "high" if notification.category in URGENT_CATEGORIES else "normal",
            },
            timeout=settings.push_timeout,
        )
        push_outcome(subscription, response)
    except Exception as exc:
        delivery_failed(delivery_id, exc)
        raise
    delivery_sent(delivery_id, provider_message_id=response.headers.get("Location", ""))


def push_outcome(subscription: PushSubscription, response: httpx.Response) -> None:
    """Record the push service's answer on the subscription; raise unless it was taken."""
    status = response.status_code
    if status in (200, 201, 202):
        PushSubscription.objects.filter(pk=subscription.pk).update(
            last_success_at=timezone.now(), failures=0
        )
        return
    if status in (404, 410):
        PushSubscription.objects.filter(pk=subscription.pk).delete()
        raise PushError(f"push service answered {status}: subscription gone", retryable=False)
    PushSubscription.objects.filter(pk=subscription.pk).update(failures=F("failures") + 1)
    retryable = status == 429 or status >= 500
    raise PushError(f"push service answered {status}: {response.text[:200]}", retryable=retryable)


def push_subscription_save(
    *, user_id: object, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> tuple[PushSubscription, bool]:
    """Store a browser's subscription (idempotent on the endpoint: a re-subscribe updates the
    keys and, when another user signs in on that browser, the owner). (row, created)."""
    return PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={
            "user_id": user_id,
            "p256dh": p256dh,
            "auth": auth,
            "user_agent": user_agent[:300],
            "failures": 0,
        },
    )


def push_subscription_delete(*, user_id: object, endpoint: str) -> bool:
    """Remove the user's subscription of `endpoint`; False when they had none."""
    deleted, _ = PushSubscription.objects.filter(user_id=user_id, endpoint=endpoint).delete()
    return bool(deleted)


def push_key_check(p256dh: str, auth: str) -> None:
    """ValueError unless `p256dh` is a P-256 point and `auth` 16 bytes (base64url)."""
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        secret = b64url_decode(auth)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a P-256 public key or not base64url") from exc
    if len(secret) != 16:
        raise ValueError("the auth secret must be 16 bytes")
