"""Process configuration read once from the environment, on first use.

Every setting has an embedded default so the API runs locally with no account and no
environment variable; production supplies the real services through the environment
(`.env.example` lists every variable).

Importing this module reads nothing: `config`, `checkout_config`, `payment_config` and
`bkash_config` are each read from the environment the first time they are used and kept for
the life of the process (see `__getattr__` at the end). So whatever sets the environment
(the dev server pointing the payment adapters at its simulators, a test plugin) only has to
do it before the first use, not before the first import. The other providers' settings
(`load_nagad_config`, `load_upay_config`, `load_sslcommerz_config`) are read each time a
gateway is built.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent
TRUE_VALUES = {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset or empty means the default (as in `.env.example`)."""
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in TRUE_VALUES


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


class Rate(NamedTuple):
    """A rate limit: at most `requests` per sliding window of `window` seconds."""

    requests: int
    window: int


def env_rate(name: str, default: str) -> Rate:
    """`"300/60"` = 300 requests per 60 seconds."""
    raw = env_str(name, default)
    requests, slash, window = raw.partition("/")
    try:
        rate = Rate(int(requests), int(window))
    except ValueError:
        rate = Rate(0, 0)
    if not slash or rate.requests < 1 or rate.window < 1:
        raise ValueError(f"{name} must look like '300/60' (requests/seconds), not {raw!r}")
    return rate


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
GEO_GATE_MODES = ("auto", "on", "off")


def env_networks(name: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (IPv4 or IPv6; a bare address is a /32 or /128)."""
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in env_list(name))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def env_geo_gate(on_vercel: bool) -> bool:
    """`GEO_GATE`: "on", "off", or "auto" (the default: on when running on Vercel)."""
    mode = env_str("GEO_GATE", "auto").lower()
    if mode not in GEO_GATE_MODES:
        raise ValueError(f"GEO_GATE must be one of {', '.join(GEO_GATE_MODES)}, not {mode!r}")
    return on_vercel if mode == "auto" else mode == "on"


def default_data_dir() -> Path:
    # Vercel's filesystem is read-only except /tmp.
    if os.environ.get("VERCEL"):
        return Path(tempfile.gettempdir()) / "zest"
    return REPO_ROOT / ".zest"


DEV_SECRET_KEY = "zest-insecure-development-key-change-me-0123456789abcdef"  # noqa: S105
JWT_KEY_LABEL = b"zest-store/jwt-signing-key/v1"


def derived_jwt_key(secret_key: str) -> str:
    """The default access-token key: HMAC-SHA256 of a fixed label under SECRET_KEY, so the
    Django secret itself never signs tokens and a dedicated key can replace it any time."""
    return hmac.new(secret_key.encode(), JWT_KEY_LABEL, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    """Sign-in with Google, Apple and Facebook: our client ids and the providers' endpoints.

    A provider with no client id configured refuses every sign-in. The endpoints are
    configurable so tests and local development can point at `devtools.oauth_provider`.
    """

    google_client_ids: tuple[str, ...] = ()
    apple_client_ids: tuple[str, ...] = ()
    facebook_app_id: str = ""
    facebook_app_secret: str = ""
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    apple_jwks_url: str = "https://appleid.apple.com/auth/keys"
    facebook_graph_url: str = "https://graph.facebook.com"
    # Facebook's Graph API has no `email_verified`; it returns only a primary email it holds.
    facebook_trust_email: bool = True
    http_timeout: float = 3.0
    jwks_cache_seconds: float = 3600.0
    jwks_refetch_seconds: float = 60.0
    leeway_seconds: int = 60


def load_oauth_config() -> OAuthConfig:
    defaults = OAuthConfig()
    return OAuthConfig(
        google_client_ids=tuple(env_list("GOOGLE_CLIENT_IDS")),
        apple_client_ids=tuple(env_list("APPLE_CLIENT_IDS")),
        facebook_app_id=env_str("FACEBOOK_APP_ID"),
        facebook_app_secret=env_str("FACEBOOK_APP_SECRET"),
        google_jwks_url=env_str("OAUTH_GOOGLE_JWKS_URL", defaults.google_jwks_url),
        apple_jwks_url=env_str("OAUTH_APPLE_JWKS_URL", defaults.apple_jwks_url),
        facebook_graph_url=env_str("OAUTH_FACEBOOK_GRAPH_URL", defaults.facebook_graph_url).rstrip(
            "/"
        ),
        facebook_trust_email=env_bool("OAUTH_FACEBOOK_TRUST_EMAIL", defaults.facebook_trust_email),
        http_timeout=env_float("OAUTH_HTTP_TIMEOUT", defaults.http_timeout),
        jwks_cache_seconds=env_float("OAUTH_JWKS_CACHE_SECONDS", defaults.jwks_cache_seconds),
        jwks_refetch_seconds=env_float("OAUTH_JWKS_REFETCH_SECONDS", defaults.jwks_refetch_seconds),
        leeway_seconds=env_int("OAUTH_LEEWAY_SECONDS", defaults.leeway_seconds),
    )


@dataclass(frozen=True, slots=True)
class RecommendationConfig:
    """The recommendations job (see lib/recommendations): blend weights and bounds."""

    weight_bought_together: float = 0.5
    weight_similar: float = 0.35
    weight_popular: float = 0.15
    max_items: int = 20
    min_support: int = 2
    order_window_days: int = 365
    max_basket: int = 50
    half_life_days: float = 14.0
    max_postings: int = 500


def load_recommendation_config() -> RecommendationConfig:
    defaults = RecommendationConfig()
    return RecommendationConfig(
        weight_bought_together=env_float(
            "RECO_WEIGHT_BOUGHT_TOGETHER", defaults.weight_bought_together
        ),
        weight_similar=env_float("RECO_WEIGHT_SIMILAR", defaults.weight_similar),
        weight_popular=env_float("RECO_WEIGHT_POPULAR", defaults.weight_popular),
        max_items=env_int("RECO_MAX_ITEMS", defaults.max_items),
        min_support=env_int("RECO_MIN_SUPPORT", defaults.min_support),
        order_window_days=env_int("RECO_ORDER_WINDOW_DAYS", defaults.order_window_days),
        max_basket=env_int("RECO_MAX_BASKET", defaults.max_basket),
        half_life_days=env_float("RECO_HALF_LIFE_DAYS", defaults.half_life_days),
        max_postings=env_int("RECO_MAX_POSTINGS", defaults.max_postings),
    )


@dataclass(frozen=True, slots=True)
class FraudConfig:
    """Fraud screening at placement (see lib/orders/fraud.py): thresholds and the hold score."""

    hold_score: int = 60
    velocity_phone: int = 3
    velocity_ip: int = 5
    velocity_device: int = 3
    new_customer_cod_limit: int = 5000
    failed_payments: int = 2
    high_amount: int = 50000
    average_multiplier: int = 5
    phone_accounts: int = 2


def load_fraud_config() -> FraudConfig:
    defaults = FraudConfig()
    return FraudConfig(
        hold_score=env_int("FRAUD_HOLD_SCORE", defaults.hold_score),
        velocity_phone=env_int("FRAUD_VELOCITY_PHONE", defaults.velocity_phone),
        velocity_ip=env_int("FRAUD_VELOCITY_IP", defaults.velocity_ip),
        velocity_device=env_int("FRAUD_VELOCITY_DEVICE", defaults.velocity_device),
        new_customer_cod_limit=env_int(
            "FRAUD_NEW_CUSTOMER_COD_LIMIT", defaults.new_customer_cod_limit
        ),
        failed_payments=env_int("FRAUD_FAILED_PAYMENTS", defaults.failed_payments),
        high_amount=env_int("FRAUD_HIGH_AMOUNT", defaults.high_amount),
        average_multiplier=env_int("FRAUD_AVERAGE_MULTIPLIER", defaults.average_multiplier),
        phone_accounts=env_int("FRAUD_PHONE_ACCOUNTS", defaults.phone_accounts),
    )


@dataclass(frozen=True, slots=True)
class Config:
    debug: bool
    secret_key: str
    allowed_hosts: list[str]
    data_dir: Path
    on_vercel: bool
    vercel_env: str
    # relational
    database_url: str
    database_pool_min: int
    database_pool_max: int
    database_pool_timeout: float
    database_transaction_pooler: bool
    # Redis over Upstash REST
    upstash_url: str
    upstash_token: str
    redis_url: str
    kv_timeout: float
    catalog_cache_ttl: int
    # documents
    mongodb_uri: str
    mongodb_db: str
    mongodb_timeout_ms: int
    # files
    blob_token: str
    blob_api_url: str
    media_url: str
    # operations
    sentry_dsn: str
    sentry_environment: str
    sentry_traces_sample_rate: float
    cron_secret: str
    time_zone: str
    # API keys
    api_key_cache_ttl: int
    api_signature_window: int
    # abuse controls
    rate_limit_default: Rate
    rate_limit_sensitive: Rate
    geo_gate: bool
    geo_allowed_countries: frozenset[str]
    geo_allow_cidrs: tuple[IPNetwork, ...]
    # sign-in with Google / Apple / Facebook
    oauth: OAuthConfig
    # the recommendations job
    recommendations: RecommendationConfig
    # fraud screening at placement
    fraud: FraudConfig
    # users and sessions
    jwt_signing_key: str
    jwt_access_ttl: int
    refresh_ttl: int
    storefront_url: str
    default_from_email: str
    email_backend: str
    email_host: str
    email_port: int
    email_host_user: str
    email_host_password: str
    email_use_tls: bool
    # product images
    image_max_bytes: int
    image_max_pixels: int
    image_max_per_product: int
    # carts
    cart_ttl_seconds: int
    cart_max_qty_per_line: int

    @property
    def media_root(self) -> Path:
        return self.data_dir / "media"

    @property
    def is_production(self) -> bool:
        return self.vercel_env == "production"


def load_config() -> Config:
    data_dir = Path(env_str("ZEST_DATA_DIR") or default_data_dir())
    on_vercel = bool(os.environ.get("VERCEL"))
    return Config(
        debug=env_bool("ZEST_DEBUG"),
        secret_key=env_str("SECRET_KEY", DEV_SECRET_KEY),
        allowed_hosts=env_list("ALLOWED_HOSTS", "*"),
        data_dir=data_dir,
        on_vercel=on_vercel,
        vercel_env=env_str("VERCEL_ENV", "development"),
        database_url=env_str("DATABASE_URL") or f"sqlite:///{data_dir / 'dev.sqlite3'}",
        database_pool_min=env_int("DATABASE_POOL_MIN", 0),
        database_pool_max=env_int("DATABASE_POOL_MAX", 4),
        database_pool_timeout=env_float("DATABASE_POOL_TIMEOUT", 10.0),
        database_transaction_pooler=env_bool("DATABASE_TRANSACTION_POOLER"),
        upstash_url=env_str("UPSTASH_REDIS_REST_URL").rstrip("/"),
        upstash_token=env_str("UPSTASH_REDIS_REST_TOKEN"),
        redis_url=env_str("REDIS_URL"),
        kv_timeout=env_float("KV_TIMEOUT_SECONDS", 2.0),
        catalog_cache_ttl=env_int("CATALOG_CACHE_TTL", 60),
        mongodb_uri=env_str("MONGODB_URI"),
        mongodb_db=env_str("MONGODB_DB", "zest"),
        mongodb_timeout_ms=env_int("MONGODB_TIMEOUT_MS", 3000),
        blob_token=env_str("BLOB_READ_WRITE_TOKEN"),
        blob_api_url=env_str("VERCEL_BLOB_API_URL"),
        media_url=env_str("MEDIA_URL", "/media/"),
        sentry_dsn=env_str("SENTRY_DSN"),
        sentry_environment=env_str("SENTRY_ENVIRONMENT", env_str("VERCEL_ENV", "development")),
        sentry_traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
        cron_secret=env_str("CRON_SECRET"),
        time_zone="Asia/Dhaka",
        api_key_cache_ttl=env_int("API_KEY_CACHE_TTL", 300),
        api_signature_window=env_int("API_SIGNATURE_WINDOW", 300),
        rate_limit_default=env_rate("RATE_LIMIT_DEFAULT", "300/60"),
        rate_limit_sensitive=env_rate("RATE_LIMIT_SENSITIVE", "10/60"),
        geo_gate=env_geo_gate(on_vercel),
        geo_allowed_countries=frozenset(c.upper() for c in env_list("GEO_ALLOWED_COUNTRIES", "BD")),
        geo_allow_cidrs=env_networks("GEO_ALLOW_CIDRS"),
        oauth=load_oauth_config(),
        recommendations=load_recommendation_config(),
        fraud=load_fraud_config(),
        jwt_signing_key=env_str("JWT_SIGNING_KEY")
        or derived_jwt_key(env_str("SECRET_KEY", DEV_SECRET_KEY)),
        jwt_access_ttl=env_int("JWT_ACCESS_TTL", 900),
        refresh_ttl=env_int("REFRESH_TTL", 30 * 24 * 3600),
        storefront_url=env_str("STOREFRONT_URL", "http://localhost:3000").rstrip("/"),
        default_from_email=env_str("DEFAULT_FROM_EMAIL", "Zest Store <no-reply@localhost>"),
        email_backend=env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"),
        email_host=env_str("EMAIL_HOST", "localhost"),
        email_port=env_int("EMAIL_PORT", 587),
        email_host_user=env_str("EMAIL_HOST_USER"),
        email_host_password=env_str("EMAIL_HOST_PASSWORD"),
        email_use_tls=env_bool("EMAIL_USE_TLS", True),
        image_max_bytes=env_int("IMAGE_MAX_BYTES", 4 * 1024 * 1024),
        image_max_pixels=env_int("IMAGE_MAX_PIXELS", 40_000_000),
        image_max_per_product=env_int("IMAGE_MAX_PER_PRODUCT", 20),
        cart_ttl_seconds=env_int("CART_TTL_SECONDS", 30 * 24 * 3600),
        cart_max_qty_per_line=env_int("CART_MAX_QTY_PER_LINE", 10),
    )


@dataclass(frozen=True, slots=True)
class CheckoutConfig:
    """Checkout charges and limits (see lib/checkout/placement.py)."""

    cod_fee: str = "20"
    cod_max_total: str = "20000"
    payment_timeout_minutes: int = 30


def load_checkout_config() -> CheckoutConfig:
    defaults = CheckoutConfig()
    return CheckoutConfig(
        cod_fee=env_str("COD_FEE", defaults.cod_fee),
        cod_max_total=env_str("COD_MAX_TOTAL", defaults.cod_max_total),
        payment_timeout_minutes=env_int(
            "PAYMENT_TIMEOUT_MINUTES", defaults.payment_timeout_minutes
        ),
    )


@dataclass(frozen=True, slots=True)
class PaymentConfig:
    """Settings shared by every payment provider (see lib/payments/)."""

    http_timeout: float = 10.0
    public_base_url: str = "http://127.0.0.1:8000"
    reconcile_after_minutes: int = 5
    reconcile_batch: int = 50
    # A refund its provider still does not know of this long after it was sent never arrived:
    # another may be sent. Until then it stays pending and blocks a second one.
    refund_confirm_seconds: int = 900


def load_payment_config() -> PaymentConfig:
    defaults = PaymentConfig()
    return PaymentConfig(
        http_timeout=env_float("PAYMENT_HTTP_TIMEOUT", defaults.http_timeout),
        public_base_url=env_str("PAYMENT_PUBLIC_BASE_URL", defaults.public_base_url).rstrip("/"),
        reconcile_after_minutes=env_int(
            "PAYMENT_RECONCILE_AFTER_MINUTES", defaults.reconcile_after_minutes
        ),
        reconcile_batch=env_int("PAYMENT_RECONCILE_BATCH", defaults.reconcile_batch),
        refund_confirm_seconds=env_int(
            "PAYMENT_REFUND_CONFIRM_SECONDS", defaults.refund_confirm_seconds
        ),
    )


# --- Nagad (payments: lib/payments/nagad.py) ---------------------------------------------
NAGAD_SIMULATOR_URL = "http://127.0.0.1:8794/api/dfs"


def env_pem(name: str) -> str:
    """A PEM (or bare base64 DER) key from the environment. One-line values may carry `\\n`
    escapes, as dashboards store them; they become real newlines. Parsed by the adapter."""
    return env_str(name).replace("\\n", "\n")


@dataclass(frozen=True, slots=True)
class NagadConfig:
    """Nagad merchant checkout (API v-0.2.0). The base URL defaults to the local simulator
    (devtools/payment_sims/nagad.py); the keys have no default (the simulator prints its own)."""

    base_url: str = NAGAD_SIMULATOR_URL
    merchant_id: str = ""
    merchant_private_key: str = ""  # our RSA private key, PEM
    public_key: str = ""  # Nagad's gateway RSA public key, PEM
    callback_url: str = ""  # empty = the URL the payment service builds
    merchant_ip: str = "127.0.0.1"  # X-KM-IP-V4 when the payer's address is unknown
    client_type: str = "PC_WEB"
    api_version: str = "v-0.2.0"
    http_timeout: float = 10.0


def load_nagad_config() -> NagadConfig:
    defaults = NagadConfig()
    return NagadConfig(
        base_url=env_str("NAGAD_BASE_URL", defaults.base_url).rstrip("/"),
        merchant_id=env_str("NAGAD_MERCHANT_ID"),
        merchant_private_key=env_pem("NAGAD_MERCHANT_PRIVATE_KEY"),
        public_key=env_pem("NAGAD_PUBLIC_KEY"),
        callback_url=env_str("NAGAD_CALLBACK_URL"),
        merchant_ip=env_str("NAGAD_MERCHANT_IP", defaults.merchant_ip),
        client_type=env_str("NAGAD_CLIENT_TYPE", defaults.client_type),
        api_version=env_str("NAGAD_API_VERSION", defaults.api_version),
        http_timeout=env_float(
            "NAGAD_HTTP_TIMEOUT", env_float("PAYMENT_HTTP_TIMEOUT", defaults.http_timeout)
        ),
    )


@dataclass(frozen=True, slots=True)
class BkashConfig:
    """bKash tokenized checkout (lib/payments/bkash.py). No default base URL: the adapter
    refuses to run without one; the dev server and tests point it at the local simulator
    (devtools/payment_sims/bkash.py)."""

    base_url: str = ""
    app_key: str = ""
    app_secret: str = ""
    username: str = ""
    password: str = ""


def load_bkash_config() -> BkashConfig:
    return BkashConfig(
        base_url=env_str("BKASH_BASE_URL").rstrip("/"),
        app_key=env_str("BKASH_APP_KEY"),
        app_secret=env_str("BKASH_APP_SECRET"),
        username=env_str("BKASH_USERNAME"),
        password=env_str("BKASH_PASSWORD"),
    )


@dataclass(frozen=True, slots=True)
class UpayConfig:
    """Upay merchant gateway (lib/payments/upay.py). The defaults point at the local simulator
    (devtools/payment_sims/upay.py) with its built-in test merchant, so no account is needed."""

    base_url: str = "http://127.0.0.1:8793/"
    merchant_id: str = "UPAY-SIM-MERCHANT"
    merchant_key: str = "upay-sim-merchant-key"
    merchant_code: str = ""
    merchant_name: str = "Zest Store"
    merchant_mobile: str = ""
    merchant_city: str = "Dhaka"
    merchant_category_code: str = ""
    token_ttl: int = 3600
    token_refresh_margin: int = 300
    http_timeout: float = 10.0


def load_upay_config() -> UpayConfig:
    """Read on each use (cheap), so a changed environment applies without a restart of tests."""
    defaults = UpayConfig()
    return UpayConfig(
        base_url=env_str("UPAY_BASE_URL", defaults.base_url).rstrip("/") + "/",
        merchant_id=env_str("UPAY_MERCHANT_ID", defaults.merchant_id),
        merchant_key=env_str("UPAY_MERCHANT_KEY", defaults.merchant_key),
        merchant_code=env_str("UPAY_MERCHANT_CODE", defaults.merchant_code),
        merchant_name=env_str("UPAY_MERCHANT_NAME", defaults.merchant_name),
        merchant_mobile=env_str("UPAY_MERCHANT_MOBILE", defaults.merchant_mobile),
        merchant_city=env_str("UPAY_MERCHANT_CITY", defaults.merchant_city),
        merchant_category_code=env_str(
            "UPAY_MERCHANT_CATEGORY_CODE", defaults.merchant_category_code
        ),
        token_ttl=env_int("UPAY_TOKEN_TTL", defaults.token_ttl),
        token_refresh_margin=env_int("UPAY_TOKEN_REFRESH_MARGIN", defaults.token_refresh_margin),
        # The shared payment timeout (PAYMENT_HTTP_TIMEOUT) unless Upay's own is set.
        http_timeout=env_float(
            "UPAY_HTTP_TIMEOUT", env_float("PAYMENT_HTTP_TIMEOUT", defaults.http_timeout)
        ),
    )


@dataclass(frozen=True, slots=True)
class SslcommerzConfig:
    """SSLCommerz (and Rocket through it): lib/payments/sslcommerz.py. The defaults point at the
    local simulator (devtools/payment_sims/sslcommerz.py), so no account is needed locally."""

    base_url: str = "http://127.0.0.1:8794"
    store_id: str = "zesttest"
    store_password: str = "zesttest@ssl"  # noqa: S105 - the simulator's, not a real secret
    rocket_multi_card_name: str = "dbblmobilebanking"
    http_timeout: float = 10.0


def load_sslcommerz_config() -> SslcommerzConfig:
    """Read on every use (cheap), so a changed environment applies without a restart."""
    defaults = SslcommerzConfig()
    return SslcommerzConfig(
        base_url=env_str("SSLCOMMERZ_BASE_URL", defaults.base_url).rstrip("/"),
        store_id=env_str("SSLCOMMERZ_STORE_ID", defaults.store_id),
        store_password=env_str("SSLCOMMERZ_STORE_PASSWORD", defaults.store_password),
        rocket_multi_card_name=env_str(
            "SSLCOMMERZ_ROCKET_MULTI_CARD_NAME", defaults.rocket_multi_card_name
        ),
        http_timeout=env_float("PAYMENT_HTTP_TIMEOUT", defaults.http_timeout),
    )


# --- couriers (lib/couriers/) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourierConfig:
    """Settings shared by every courier (lib/couriers/): parcel defaults, the poll cron."""

    http_timeout: float = 10.0
    default_weight_grams: int = 500  # a parcel whose products carry no weight
    poll_after_minutes: int = 180  # the cron asks about consignments quiet this long
    poll_batch: int = 50
    # A booking whose courier call never came back (the instance died) may be retried after.
    booking_stale_seconds: int = 120


def load_courier_config() -> CourierConfig:
    defaults = CourierConfig()
    return CourierConfig(
        http_timeout=env_float("COURIER_HTTP_TIMEOUT", defaults.http_timeout),
        default_weight_grams=env_int("COURIER_DEFAULT_WEIGHT_GRAMS", defaults.default_weight_grams),
        poll_after_minutes=env_int("COURIER_POLL_AFTER_MINUTES", defaults.poll_after_minutes),
        poll_batch=env_int("COURIER_POLL_BATCH", defaults.poll_batch),
        booking_stale_seconds=env_int(
            "COURIER_BOOKING_STALE_SECONDS", defaults.booking_stale_seconds
        ),
    )


@dataclass(frozen=True, slots=True)
class SteadfastConfig:
    """Steadfast Courier (lib/couriers/steadfast.py). Steadfast publishes no sandbox: locally
    `zest dev` and the tests point the base URL at devtools/courier_sims/steadfast.py. The
    keys come from the merchant panel; the webhook token is the "Auth Token (Bearer)" entered
    there. Steadfast has no price API: quotes are an estimate from the tariff below."""

    base_url: str = "https://portal.packzy.com/api/v1"
    api_key: str = ""
    secret_key: str = ""
    webhook_token: str = ""
    tracking_url: str = "https://steadfast.com.bd/t/{code}"
    base_fee: str = "80"  # BDT per parcel (S-DOC tariff notes: minimum pick-and-drop charge)
    cod_percent: str = "1"  # % of the cash collected (S-DOC: 1% COD and risk charge)
    # What `pending` means for the order (Steadfast sends no picked-up signal): in_transit,
    # picked_up or booked.
    pending_state: str = "in_transit"
    http_timeout: float = 10.0


def load_steadfast_config() -> SteadfastConfig:
    defaults = SteadfastConfig()
    return SteadfastConfig(
        base_url=env_str("STEADFAST_BASE_URL", defaults.base_url).rstrip("/"),
        api_key=env_str("STEADFAST_API_KEY"),
        secret_key=env_str("STEADFAST_SECRET_KEY"),
        webhook_token=env_str("STEADFAST_WEBHOOK_TOKEN"),
        tracking_url=env_str("STEADFAST_TRACKING_URL", defaults.tracking_url),
        base_fee=env_str("STEADFAST_BASE_FEE", defaults.base_fee),
        cod_percent=env_str("STEADFAST_COD_PERCENT", defaults.cod_percent),
        pending_state=env_str("STEADFAST_PENDING_STATE", defaults.pending_state),
        http_timeout=env_float("COURIER_HTTP_TIMEOUT", defaults.http_timeout),
    )


@dataclass(frozen=True, slots=True)
class PathaoConfig:
    """Pathao Courier merchant API (lib/couriers/pathao.py). No default base URL: the adapter
    refuses to run without one; `zest dev` and the tests point it at
    devtools/courier_sims/pathao.py (sandbox: https://courier-api-sandbox.pathao.com, live:
    https://api-hermes.pathao.com). The webhook secret is the one entered in the merchant
    panel's Webhook Integration. Which token flow Pathao prefers today is not public:
    `password` (issue-token, documented) or `client_credentials` (external/login, used by
    Pathao's own plugin)."""

    base_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    username: str = ""
    password: str = ""
    store_id: str = ""
    webhook_secret: str = ""
    auth_flow: str = "password"
    default_city_id: int = 1  # Dhaka in Pathao's city list, when a district matches no city
    default_zone_id: int = 0  # 0: the city's first zone, when an area matches no zone
    tracking_url: str = "https://merchant.pathao.com/tracking?consignment_id={code}"
    http_timeout: float = 10.0


def load_pathao_config() -> PathaoConfig:
    defaults = PathaoConfig()
    return PathaoConfig(
        base_url=env_str("PATHAO_BASE_URL").rstrip("/"),
        client_id=env_str("PATHAO_CLIENT_ID"),
        client_secret=env_str("PATHAO_CLIENT_SECRET"),
        username=env_str("PATHAO_USERNAME"),
        password=env_str("PATHAO_PASSWORD"),
        store_id=env_str("PATHAO_STORE_ID"),
        webhook_secret=env_str("PATHAO_WEBHOOK_SECRET"),
        auth_flow=env_str("PATHAO_AUTH_FLOW", defaults.auth_flow).lower(),
        default_city_id=env_int("PATHAO_DEFAULT_CITY_ID", defaults.default_city_id),
        default_zone_id=env_int("PATHAO_DEFAULT_ZONE_ID", defaults.default_zone_id),
        tracking_url=env_str("PATHAO_TRACKING_URL", defaults.tracking_url),
        http_timeout=env_float("COURIER_HTTP_TIMEOUT", defaults.http_timeout),
    )


def env_pairs(name: str) -> tuple[tuple[str, str], ...]:
    """`"a=b,c=d"` as (("a", "b"), ("c", "d")); items without `=` are ignored."""
    pairs = (item.partition("=") for item in env_list(name))
    return tuple((key.strip(), value.strip()) for key, eq, value in pairs if eq and key.strip())


@dataclass(frozen=True, slots=True)
class RedxConfig:
    """RedX OpenAPI v1.0.0-beta (lib/couriers/redx.py). No default base URL: the adapter
    refuses to run without one; `zest dev` and the tests point it at
    devtools/courier_sims/redx.py (sandbox: https://sandbox.redx.com.bd/v1.0.0-beta, live:
    https://openapi.redx.com.bd/v1.0.0-beta). The access token is the static JWT of the
    merchant panel's developer page. RedX signs no webhook: the callback URL registered in
    its panel carries our token as `?token=`. Not public, so configurable: the tracking page,
    statuses beyond the documented ones (`status=state` pairs) and RedX's spelling of a
    district where it differs from ours (`ours=theirs`)."""

    base_url: str = ""
    access_token: str = ""
    pickup_store_id: int = 0  # 0: RedX's default pickup store
    pickup_area_id: int = 0  # the pickup store's area, needed by the charge calculator
    default_area_id: int = 0  # 0: an area RedX does not list is refused (courier_area_unknown)
    webhook_token: str = ""
    tracking_url: str = "https://redx.com.bd/track-parcel/?trackingId={code}"
    area_cache_seconds: int = 86400
    extra_statuses: tuple[tuple[str, str], ...] = ()
    district_names: tuple[tuple[str, str], ...] = ()
    http_timeout: float = 10.0


def load_redx_config() -> RedxConfig:
    defaults = RedxConfig()
    return RedxConfig(
        base_url=env_str("REDX_BASE_URL").rstrip("/"),
        access_token=env_str("REDX_ACCESS_TOKEN"),
        pickup_store_id=env_int("REDX_PICKUP_STORE_ID", defaults.pickup_store_id),
        pickup_area_id=env_int("REDX_PICKUP_AREA_ID", defaults.pickup_area_id),
        default_area_id=env_int("REDX_DEFAULT_AREA_ID", defaults.default_area_id),
        webhook_token=env_str("REDX_WEBHOOK_TOKEN"),
        tracking_url=env_str("REDX_TRACKING_URL", defaults.tracking_url),
        area_cache_seconds=env_int("REDX_AREA_CACHE_SECONDS", defaults.area_cache_seconds),
        extra_statuses=env_pairs("REDX_EXTRA_STATUSES"),
        district_names=env_pairs("REDX_DISTRICT_NAMES"),
        http_timeout=env_float("COURIER_HTTP_TIMEOUT", defaults.http_timeout),
    )


# --- phone sign-in with SMS one-time codes (lib/access/phone_otp.py) ----------------------


OTP_PHONE_RATE = Rate(5, 3600)  # codes per number
OTP_IP_RATE = Rate(20, 3600)  # codes asked from one IP (IPv6: one /64)


@dataclass(frozen=True, slots=True)
class PhoneOtpConfig:
    """One-time codes by SMS: lifetimes, attempts and limits (PHONE_OTP_* variables)."""

    code_ttl: int = 300  # seconds a code stays valid
    max_attempts: int = 5  # wrong codes before the code is burnt
    resend_seconds: int = 60  # before another code may be sent to the same number
    phone_rate: Rate = OTP_PHONE_RATE
    ip_rate: Rate = OTP_IP_RATE
    verification_ttl: int = 1800  # seconds a guest checkout's phone verification is accepted
    store_name: str = "Zest Store"
    store_name_bn: str = "জেস্ট স্টোর"


def load_phone_otp_config() -> PhoneOtpConfig:
    """Read on every use (cheap), so a changed environment applies without a restart."""
    defaults = PhoneOtpConfig()
    return PhoneOtpConfig(
        code_ttl=env_int("PHONE_OTP_TTL", defaults.code_ttl),
        max_attempts=env_int("PHONE_OTP_MAX_ATTEMPTS", defaults.max_attempts),
        resend_seconds=env_int("PHONE_OTP_RESEND_SECONDS", defaults.resend_seconds),
        phone_rate=env_rate("PHONE_OTP_PHONE_LIMIT", "5/3600"),
        ip_rate=env_rate("PHONE_OTP_IP_LIMIT", "20/3600"),
        verification_ttl=env_int("PHONE_VERIFICATION_TTL", defaults.verification_ttl),
        store_name=env_str("STORE_NAME", defaults.store_name),
        store_name_bn=env_str("STORE_NAME_BN", defaults.store_name_bn),
    )


# --- SMS gateways (lib/sms/) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmsConfig:
    """SMS: which gateway sends (`console` prints and delivers nothing), its credentials, the
    per-number cap and whether order news goes out by SMS. Locally `zest dev` points the
    SSL Wireless adapter at devtools/sms_sims/gateway.py unless SMS_BACKEND is set."""

    backend: str = "console"  # console | sslwireless | smsnetbd | bulksmsbd
    http_timeout: float = 10.0
    max_per_number_per_hour: int = 10
    order_notifications: bool = True
    sslwireless_base_url: str = "https://smsplus.sslwireless.com"
    sslwireless_api_token: str = ""
    sslwireless_sid: str = ""
    smsnetbd_base_url: str = "https://api.sms.net.bd"
    smsnetbd_api_key: str = ""
    smsnetbd_sender_id: str = ""
    bulksmsbd_base_url: str = "https://bulksmsbd.net"
    bulksmsbd_api_key: str = ""
    bulksmsbd_sender_id: str = ""


def load_sms_config() -> SmsConfig:
    defaults = SmsConfig()
    return SmsConfig(
        backend=env_str("SMS_BACKEND", defaults.backend).lower(),
        http_timeout=env_float("SMS_HTTP_TIMEOUT", defaults.http_timeout),
        max_per_number_per_hour=env_int(
            "SMS_MAX_PER_NUMBER_PER_HOUR", defaults.max_per_number_per_hour
        ),
        order_notifications=env_bool("SMS_ORDER_NOTIFICATIONS", defaults.order_notifications),
        sslwireless_base_url=env_str("SSLWIRELESS_BASE_URL", defaults.sslwireless_base_url),
        sslwireless_api_token=env_str("SSLWIRELESS_API_TOKEN"),
        sslwireless_sid=env_str("SSLWIRELESS_SID"),
        smsnetbd_base_url=env_str("SMSNETBD_BASE_URL", defaults.smsnetbd_base_url),
        smsnetbd_api_key=env_str("SMSNETBD_API_KEY"),
        smsnetbd_sender_id=env_str("SMSNETBD_SENDER_ID"),
        bulksmsbd_base_url=env_str("BULKSMSBD_BASE_URL", defaults.bulksmsbd_base_url),
        bulksmsbd_api_key=env_str("BULKSMSBD_API_KEY"),
        bulksmsbd_sender_id=env_str("BULKSMSBD_SENDER_ID"),
    )


@dataclass(frozen=True, slots=True)
class LoyaltyConfig:
    """Loyalty points and referrals (see lib/loyalty and lib/referrals). Amounts in BDT."""

    taka_per_point: str = "100"  # 1 point per ৳100 of item subtotal after discounts
    point_value: str = "1"  # one point is worth ৳1 at checkout
    expiry_days: int = 365
    redeem_min_balance: int = 100
    redeem_max_percent: int = 50  # of the item subtotal after discounts
    referral_referrer_points: int = 200
    referral_referee_points: int = 100
    affiliate_commission_rate: str = "5"  # percent, for a newly approved affiliate
    affiliate_window_days: int = 30


def load_loyalty_config() -> LoyaltyConfig:
    d = LoyaltyConfig()
    return LoyaltyConfig(
        taka_per_point=env_str("LOYALTY_TAKA_PER_POINT", d.taka_per_point),
        point_value=env_str("LOYALTY_POINT_VALUE", d.point_value),
        expiry_days=env_int("LOYALTY_EXPIRY_DAYS", d.expiry_days),
        redeem_min_balance=env_int("LOYALTY_REDEEM_MIN_BALANCE", d.redeem_min_balance),
        redeem_max_percent=env_int("LOYALTY_REDEEM_MAX_PERCENT", d.redeem_max_percent),
        referral_referrer_points=env_int("REFERRAL_REFERRER_POINTS", d.referral_referrer_points),
        referral_referee_points=env_int("REFERRAL_REFEREE_POINTS", d.referral_referee_points),
        affiliate_commission_rate=env_str("AFFILIATE_COMMISSION_RATE", d.affiliate_commission_rate),
        affiliate_window_days=env_int("AFFILIATE_WINDOW_DAYS", d.affiliate_window_days),
    )


# --- live chat and the chatbot (lib/chat/, lib/chatbot/) ----------------------------------


CHAT_MESSAGE_RATE = Rate(20, 60)
CHAT_OPEN_RATE = Rate(10, 3600)
CHATBOT_RATE = Rate(30, 60)


@dataclass(frozen=True, slots=True)
class ChatConfig:
    """Live chat limits and the chatbot's optional hosted model (an OpenAI-compatible Chat
    Completions API; off while CHATBOT_LLM_URL is empty: the offline engine answers)."""

    message_max_chars: int = 2000
    attachment_max_bytes: int = 4 * 1024 * 1024
    message_rate: Rate = CHAT_MESSAGE_RATE  # messages per sender and conversation
    open_rate: Rate = CHAT_OPEN_RATE  # conversations opened per caller
    chatbot_rate: Rate = CHATBOT_RATE  # chatbot questions per caller
    poll_cache_ttl: int = 3600  # seconds a conversation's "last message" KV entry lives
    llm_url: str = ""
    llm_api_key: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 4.0


def load_chat_config() -> ChatConfig:
    d = ChatConfig()
    return ChatConfig(
        message_max_chars=env_int("CHAT_MESSAGE_MAX_CHARS", d.message_max_chars),
        attachment_max_bytes=env_int("CHAT_ATTACHMENT_MAX_BYTES", d.attachment_max_bytes),
        message_rate=env_rate("CHAT_MESSAGE_LIMIT", "20/60"),
        open_rate=env_rate("CHAT_OPEN_LIMIT", "10/3600"),
        chatbot_rate=env_rate("CHATBOT_LIMIT", "30/60"),
        poll_cache_ttl=env_int("CHAT_POLL_CACHE_TTL", d.poll_cache_ttl),
        llm_url=env_str("CHATBOT_LLM_URL").rstrip("/"),
        llm_api_key=env_str("CHATBOT_LLM_API_KEY"),
        llm_model=env_str("CHATBOT_LLM_MODEL", d.llm_model),
        llm_timeout=env_float("CHATBOT_LLM_TIMEOUT", d.llm_timeout),
    )


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """Store settings cache, the public store endpoint and user-activity monitoring
    (lib/site, lib/activity)."""

    cache_ttl: int = 3600  # seconds the site snapshot stays in KV; 0 turns the cache off
    http_max_age: int = 60  # Cache-Control max-age of GET /api/v1/store responses
    suspicious_window_minutes: int = 60
    failed_sign_in_threshold: int = 5  # failed sign-ins per account or IP in the window
    accounts_per_ip_threshold: int = 3  # distinct accounts signing in from one IP


def load_site_config() -> SiteConfig:
    d = SiteConfig()
    return SiteConfig(
        cache_ttl=env_int("SITE_CACHE_TTL", d.cache_ttl),
        http_max_age=env_int("STORE_HTTP_MAX_AGE", d.http_max_age),
        suspicious_window_minutes=env_int(
            "ACTIVITY_SUSPICIOUS_WINDOW_MINUTES", d.suspicious_window_minutes
        ),
        failed_sign_in_threshold=env_int(
            "ACTIVITY_FAILED_SIGN_IN_THRESHOLD", d.failed_sign_in_threshold
        ),
        accounts_per_ip_threshold=env_int(
            "ACTIVITY_ACCOUNTS_PER_IP_THRESHOLD", d.accounts_per_ip_threshold
        ),
    )


# --- notifications: email provider, web push (lib/notifications) ---------------------------
@dataclass(frozen=True)
class NotificationConfig:
    # VAPID (RFC 8292): the application server's P-256 key pair; empty locally (a dev key is
    # generated into the data dir on first use), required in production.
    vapid_private_key: str = ""
    vapid_public_key: str = ""
    vapid_subject: str = "mailto:support@zest.store"
    push_ttl: int = 86400  # seconds a push service keeps an undelivered message (RFC 8030 TTL)
    push_timeout: float = 10.0
    feed_unread_cache_ttl: int = 15  # private max-age of the unread count
    # django-anymail provider (resend, postmark, sendgrid, mailgun, amazon_ses, brevo); empty
    # keeps EMAIL_BACKEND. Its keys come from ANYMAIL_* variables (e.g. ANYMAIL_RESEND_API_KEY).
    email_provider: str = ""
    anymail: tuple[tuple[str, str], ...] = ()


def load_notification_config() -> NotificationConfig:
    d = NotificationConfig()
    return NotificationConfig(
        vapid_private_key=env_str("VAPID_PRIVATE_KEY").replace("\\n", "\n"),
        vapid_public_key=env_str("VAPID_PUBLIC_KEY"),
        vapid_subject=env_str("VAPID_SUBJECT", d.vapid_subject),
        push_ttl=env_int("PUSH_TTL", d.push_ttl),
        push_timeout=env_float("PUSH_TIMEOUT", d.push_timeout),
        feed_unread_cache_ttl=env_int("NOTIFICATIONS_UNREAD_CACHE_TTL", d.feed_unread_cache_ttl),
        email_provider=env_str("EMAIL_PROVIDER").strip().lower(),
        anymail=tuple(
            (name.removeprefix("ANYMAIL_"), value)
            for name, value in sorted(os.environ.items())
            if name.startswith("ANYMAIL_") and value
        ),
    )


# --- settings read on first use ------------------------------------------------------------
LAZY_SETTINGS = {
    "notification_config": load_notification_config,
    "site_config": load_site_config,
    "chat_config": load_chat_config,
    "loyalty_config": load_loyalty_config,
    "sms_config": load_sms_config,
    "config": load_config,
    "checkout_config": load_checkout_config,
    "payment_config": load_payment_config,
    "courier_config": load_courier_config,
    "bkash_config": load_bkash_config,
    "steadfast_config": load_steadfast_config,
    "pathao_config": load_pathao_config,
    "redx_config": load_redx_config,
}

if TYPE_CHECKING:
    notification_config: NotificationConfig
    site_config: SiteConfig
    chat_config: ChatConfig
    loyalty_config: LoyaltyConfig
    config: Config
    sms_config: SmsConfig
    checkout_config: CheckoutConfig
    payment_config: PaymentConfig
    courier_config: CourierConfig
    bkash_config: BkashConfig
    steadfast_config: SteadfastConfig
    pathao_config: PathaoConfig
    redx_config: RedxConfig


def __getattr__(name: str) -> Any:
    """`config` and the other module-level settings: read from the environment on first use
    (`from lib.conf import config` is a use), then kept as ordinary module attributes. Two
    threads racing on the first use read the same environment: either result is the same."""
    loader = LAZY_SETTINGS.get(name)
    if loader is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = loader()
    globals()[name] = value
    return value
