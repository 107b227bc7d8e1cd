"""Sign-in with Google, Apple and Facebook against the local provider stand-in
(`devtools.oauth_provider`), which signs real RS256 ID tokens and speaks the Graph API.

The stand-in starts inside the test process, after its configuration was read, so the tests
hand the verifiers an explicit `OAuthConfig` pointing at it; the end-to-end test starts the
`api/oauth.py` function in a fresh process configured through the environment instead.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.db import connection
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from db.models import OutboxMessage, SocialAccount, User
from devtools.oauth_provider import (
    OAuthProviderServer,
    b64url_json,
    new_rsa_key,
    start_oauth_provider,
)
from lib.access.api_keys import api_key_create
from lib.access.oauth.base import OAuthIdentity, OAuthProviderUnavailable, OAuthTokenInvalid
from lib.access.oauth.facebook import appsecret_proof
from lib.access.oauth.services import oauth_identity_verify, oauth_sign_in
from lib.access.sessions import TokenPair, session_key, session_start
from lib.access.tokens import access_token_verify
from lib.conf import OAuthConfig
from lib.errors import ApiError
from tests.support import run_python

PROVIDERS = ["google", "apple", "facebook"]
PASSWORD = "a-long-and-unusual-passphrase-42"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[OAuthProviderServer]:
    provider = start_oauth_provider()
    yield provider
    provider.stop()


@pytest.fixture
def site(stand_in: OAuthProviderServer) -> Iterator[OAuthProviderServer]:
    """The stand-in, healthy again after the test."""
    yield stand_in
    stand_in.recover()


@pytest.fixture
def oauth(site: OAuthProviderServer) -> OAuthConfig:
    """Our settings, pointed at the stand-in. Each test gets its own JWKS URLs (the stand-in
    ignores the query), so it starts with an empty key cache."""
    case = f"?case={uuid.uuid4().hex}"
    return OAuthConfig(
        google_client_ids=("another-client.apps.googleusercontent.com", site.google_client_id),
        apple_client_ids=(site.apple_client_id,),
        facebook_app_id=site.facebook_app_id,
        facebook_app_secret=site.facebook_app_secret,
        google_jwks_url=site.google_jwks_url + case,
        apple_jwks_url=site.apple_jwks_url + case,
        facebook_graph_url=site.facebook_graph_url + "/v21.0",
        http_timeout=1.0,
        jwks_refetch_seconds=60.0,
        leeway_seconds=60,
    )


def token_for(
    site: OAuthProviderServer, provider: str, *, sub: str, email: str | None, verified=True
) -> str:
    if provider == "facebook":
        return site.facebook_token(user_id=sub, email=email, name="Rahim Uddin")
    flag = ("true" if verified else "false") if provider == "apple" else verified  # Apple: strings
    return site.issue_id_token(provider, sub=sub, email=email, email_verified=flag, name="Rahim")


def sign_in(provider: str, token: str, oauth: OAuthConfig) -> tuple[TokenPair, bool]:
    return oauth_sign_in(
        provider=provider,
        token=token,
        nonce=None,
        ip="203.0.113.9",
        user_agent="pytest",
        settings=oauth,
    )


def sign_in_as(site, oauth, provider, *, email, sub=None, verified=True) -> tuple[TokenPair, bool]:
    """Sign in with a fresh provider token; an unverified Facebook email needs our setting
    (Facebook itself reports no verification)."""
    if provider == "facebook" and not verified:
        oauth = dataclasses.replace(oauth, facebook_trust_email=False)
    token = token_for(site, provider, sub=sub or new_sub(), email=email, verified=verified)
    return sign_in(provider, token, oauth)


def verify(
    provider: str, token: str, oauth: OAuthConfig, nonce: str | None = None
) -> OAuthIdentity:
    return oauth_identity_verify(provider=provider, token=token, nonce=nonce, settings=oauth)


def refusal(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value


def activities(activity_type: str) -> list[dict]:
    messages = OutboxMessage.objects.filter(topic="activity.record").order_by("created_at")
    return [m.payload for m in messages if m.payload["activity_type"] == activity_type]


def new_sub() -> str:
    return uuid.uuid4().hex


def verified_user(email: str, **fields) -> User:
    return User.objects.create_user(email, PASSWORD, email_verified_at=timezone.now(), **fields)


# --- signing in, linking, creating ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
def test_first_sign_in_creates_a_user_and_a_session(provider, site, oauth, kv):
    sub = new_sub()
    tokens, created = sign_in_as(site, oauth, provider, sub=sub, email="New@Example.com")

    user = User.objects.get(email="new@example.com")
    assert created is True
    assert not user.has_usable_password()
    assert user.email_verified_at is not None
    assert user.full_name.startswith("Rahim")
    assert SocialAccount.objects.get(provider=provider, subject=sub).user == user
    claims = access_token_verify(tokens.access_token)
    assert claims.user_id == str(user.pk)
    assert kv.exists(session_key(claims.session_id)) == 1
    assert tokens.refresh_token.startswith(claims.session_id + ".")
    [record] = activities("sign_in")
    assert record["user_id"] == str(user.pk)
    assert record["details"] == {"method": "oauth", "provider": provider, "created": True}


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
def test_signing_in_again_uses_the_link_not_the_email(provider, site, oauth, kv):
    sub = new_sub()
    first, _ = sign_in_as(site, oauth, provider, sub=sub, email="a@example.com")
    # The provider account's email changed since: the link (subject) decides.
    again, created = sign_in_as(site, oauth, provider, sub=sub, email="b@example.com")

    assert created is False
    assert User.objects.count() == 1
    assert SocialAccount.objects.filter(provider=provider).count() == 1
    first_claims = access_token_verify(first.access_token)
    again_claims = access_token_verify(again.access_token)
    assert again_claims.user_id == first_claims.user_id
    assert again_claims.session_id != first_claims.session_id


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_verified_email_links_to_the_existing_password_user(provider, site, oauth, kv):
    existing = verified_user("shopper@example.com")
    sub = new_sub()
    tokens, created = sign_in_as(site, oauth, provider, sub=sub, email="Shopper@Example.com")

    assert created is False
    assert access_token_verify(tokens.access_token).user_id == str(existing.pk)
    assert SocialAccount.objects.get(provider=provider, subject=sub).user_id == existing.pk
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD)  # a verified owner keeps their password


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unverified_email_never_links_to_an_existing_user(provider, site, oauth):
    existing = verified_user("shopper@example.com")
    error = refusal(sign_in_as, site, oauth, provider, email="shopper@example.com", verified=False)

    assert (error.status_code, error.code) == (409, "oauth_email_unverified")
    assert not SocialAccount.objects.exists()
    assert User.objects.count() == 1
    [record] = activities("sign_in_failed")
    assert record["user_id"] == str(existing.pk)
    assert record["details"]["reason"] == "email_unverified"


@pytest.mark.django_db
def test_an_unverified_provider_email_makes_an_unverified_new_user(site, oauth, kv):
    _, created = sign_in_as(site, oauth, "google", email="fresh@example.com", verified=False)
    assert created is True
    assert User.objects.get(email="fresh@example.com").email_verified_at is None


@pytest.mark.django_db
def test_a_never_verified_account_is_handed_to_the_verified_owner(site, oauth, kv):
    # Someone registered the address without proving it, and is signed in.
    squatter = User.objects.create_user("owner@example.com", PASSWORD)
    squatter_tokens = session_start(user=squatter, ip="198.51.100.1", user_agent="squatter")
    squatter_sid = access_token_verify(squatter_tokens.access_token).session_id

    tokens, created = sign_in_as(site, oauth, "google", email="owner@example.com")

    owner = User.objects.get(pk=squatter.pk)
    assert created is False
    assert not owner.has_usable_password()
    assert owner.email_verified_at is not None
    assert kv.exists(session_key(squatter_sid)) == 0
    assert kv.exists(session_key(access_token_verify(tokens.access_token).session_id)) == 1
    assert activities("password_changed")[0]["details"] == {"via": "oauth_claim"}


@pytest.mark.django_db
def test_no_email_and_no_link_is_refused(site, oauth):
    error = refusal(sign_in_as, site, oauth, "facebook", email=None)
    assert (error.status_code, error.code) == (422, "oauth_email_missing")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_disabled_user_cannot_sign_in(site, oauth):
    verified_user("gone@example.com", is_active=False)
    error = refusal(sign_in_as, site, oauth, "apple", email="gone@example.com")
    assert (error.status_code, error.code) == (403, "account_disabled")


def test_an_unconfigured_or_unknown_provider_is_not_found(site, oauth):
    off = dataclasses.replace(oauth, google_client_ids=(), facebook_app_secret="")
    google = refusal(verify, "google", site.issue_id_token("google"), off)
    facebook = refusal(verify, "facebook", site.facebook_token(), off)
    unknown = refusal(verify, "myspace", "x", oauth)
    assert (google.status_code, google.code) == (404, "oauth_provider_disabled")
    assert (facebook.status_code, facebook.code) == (404, "oauth_provider_disabled")
    assert unknown.status_code == 404


# --- ID tokens: every check -----------------------------------------------------------------

FORGERIES = {  # reason -> (claims and signing options, nonce sent)
    "audience": (lambda now: {"aud": "someone-elses-client"}, None),
    "issuer": (lambda now: {"iss": "https://accounts.example.com"}, None),
    "expired": (lambda now: {"iat": now - 7200, "exp": now - 3600}, None),
    "signature": (lambda now: {"key": new_rsa_key()}, None),  # the right kid, a foreign key
    "algorithm": (lambda now: {"algorithm": "none"}, None),
    "nonce": (lambda now: {"nonce": hashlib.sha256(b"theirs").hexdigest()}, "mine"),
    "nonce_missing": (lambda now: {"nonce": "n-0123456789"}, None),
    "unknown_key": (lambda now: {"kid": "never-published"}, None),
    "missing_claim": (lambda now: {"exp": None}, None),
}


@pytest.mark.parametrize("provider", ["google", "apple"])
@pytest.mark.parametrize("reason", list(FORGERIES))
def test_a_bad_id_token_is_refused(provider, reason, site, oauth):
    options, nonce = FORGERIES[reason]
    token = site.issue_id_token(provider, **options(int(time.time())))
    with pytest.raises(OAuthTokenInvalid) as caught:
        verify(provider, token, oauth, nonce)
    assert (caught.value.status_code, caught.value.code) == (401, "oauth_token_invalid")
    assert caught.value.reason == reason


def published_key_pem(site: OAuthProviderServer, provider: str) -> bytes:
    """The provider's current public key as anyone can build it from its JWKS."""
    url = site.google_jwks_url if provider == "google" else site.apple_jwks_url
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
        keys = {key["kid"]: key for key in json.load(response)["keys"]}
    public_key = RSAAlgorithm.from_jwk(keys[site.current_kid(provider)])
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def test_hmac_signed_with_the_public_key_is_refused(site, oauth):
    # The classic confusion: HS256 keyed with the provider's public RSA key, which anyone has.
    header = {"alg": "HS256", "typ": "JWT", "kid": site.current_kid("google")}
    claims = {"iss": "https://accounts.google.com", "aud": site.google_client_id, "sub": "x"}
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    mac = hmac.new(published_key_pem(site, "google"), signing_input.encode(), hashlib.sha256)
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"
    with pytest.raises(OAuthTokenInvalid) as caught:
        verify("google", token, oauth)
    assert caught.value.reason == "algorithm"


def test_small_clock_skew_is_tolerated(site, oauth):
    now = int(time.time())
    token = site.issue_id_token("google", iat=now - 3600, exp=now - 10, email="late@example.com")
    assert verify("google", token, oauth).email == "late@example.com"


def test_nonces_google_as_sent_apple_as_its_sha256(site, oauth):
    raw = "n-" + uuid.uuid4().hex
    hashed = hashlib.sha256(raw.encode()).hexdigest()
    google = site.issue_id_token("google", nonce=raw)
    apple = site.issue_id_token("apple", nonce=hashed)

    assert verify("google", google, oauth, raw).provider == "google"
    assert verify("apple", apple, oauth, raw).provider == "apple"
    with pytest.raises(OAuthTokenInvalid):  # Apple's token shows the hash: it proves nothing
        verify("apple", apple, oauth, hashed)


def test_apple_string_booleans_and_no_name(site, oauth):
    yes = site.issue_id_token("apple", email="x@privaterelay.appleid.com", email_verified="true")
    no = site.issue_id_token("apple", email="y@example.com", email_verified="false")
    identity = verify("apple", yes, oauth)
    assert (identity.email_verified, identity.name) == (True, None)
    assert verify("apple", no, oauth).email_verified is False


# --- the key set: cached, refetched on rotation, failures -----------------------------------


def test_the_key_set_is_fetched_once_then_cached(site, oauth):
    before = site.hits("google.jwks")
    for _ in range(3):
        verify("google", site.issue_id_token("google"), oauth)
    assert site.hits("google.jwks") - before == 1


def test_concurrent_first_verifications_fetch_the_key_set_once(site, oauth):
    before = site.hits("google.jwks")
    tokens = [site.issue_id_token("google") for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        identities = list(pool.map(lambda token: verify("google", token, oauth), tokens))
    assert len({identity.subject for identity in identities}) == 8
    assert site.hits("google.jwks") - before == 1


def test_a_new_key_id_refetches_the_key_set(site, oauth):
    oauth = dataclasses.replace(oauth, jwks_refetch_seconds=0.0)
    before = site.hits("apple.jwks")
    old = site.issue_id_token("apple")
    verify("apple", old, oauth)

    new_kid = site.rotate_keys("apple")
    rotated = site.issue_id_token("apple")
    assert verify("apple", rotated, oauth).provider == "apple"
    assert verify("apple", old, oauth).provider == "apple"  # the old key is still published
    assert site.current_kid("apple") == new_kid
    assert site.hits("apple.jwks") - before == 2


def test_unknown_key_ids_refetch_at_most_once_per_interval(site, oauth):
    before = site.hits("google.jwks")
    verify("google", site.issue_id_token("google"), oauth)
    for attempt in range(5):
        with pytest.raises(OAuthTokenInvalid):
            verify("google", site.issue_id_token("google", kid=f"made-up-{attempt}"), oauth)
    assert site.hits("google.jwks") - before == 1  # all within jwks_refetch_seconds


@pytest.mark.parametrize("mode", ["error", "timeout"])
def test_an_unreachable_key_set_is_a_bad_gateway(mode, site, oauth):
    site.fail("apple") if mode == "error" else site.hang("apple")
    started = time.monotonic()
    with pytest.raises(OAuthProviderUnavailable) as caught:
        verify("apple", site.issue_id_token("apple"), oauth)
    assert (caught.value.status_code, caught.value.code) == (502, "oauth_provider_unavailable")
    assert time.monotonic() - started < oauth.http_timeout + 1.5
    # Right after a failed fetch, the next sign-in fails at once without asking again.
    hits, started = site.hits("apple.jwks"), time.monotonic()
    with pytest.raises(OAuthProviderUnavailable):
        verify("apple", site.issue_id_token("apple"), oauth)
    assert site.hits("apple.jwks") == hits
    assert time.monotonic() - started < 0.5


# --- Facebook ------------------------------------------------------------------------------

FACEBOOK_TOKENS = {  # case -> (token maker, reason)
    "unknown": (lambda site: "EAA" + uuid.uuid4().hex, "not_valid"),
    "revoked": (lambda site: site.facebook_token(valid=False), "not_valid"),
    "expired": (lambda site: site.facebook_token(expires_in=-60), "expired"),
    "other-app": (lambda site: site.facebook_token(app_id="987654321000001"), "audience"),
}


@pytest.mark.parametrize("case", list(FACEBOOK_TOKENS))
def test_a_bad_facebook_token_is_refused(case, site, oauth):
    make_token, reason = FACEBOOK_TOKENS[case]
    with pytest.raises(OAuthTokenInvalid) as caught:
        verify("facebook", make_token(site), oauth)
    assert (caught.value.status_code, caught.value.reason) == (401, reason)


@pytest.mark.parametrize("mode", ["error", "timeout", "wrong-app-secret"])
def test_facebook_unavailable_or_refusing_us_is_a_bad_gateway(mode, site, oauth):
    token = site.facebook_token(email="fb@example.com")
    if mode == "error":
        site.fail("facebook")
    elif mode == "timeout":
        site.hang("facebook")
    else:
        oauth = dataclasses.replace(oauth, facebook_app_secret="not-our-secret")
    started = time.monotonic()
    with pytest.raises(OAuthProviderUnavailable) as caught:
        verify("facebook", token, oauth)
    assert caught.value.status_code == 502
    assert time.monotonic() - started < oauth.http_timeout + 1.5


def test_the_graph_stand_in_requires_a_valid_appsecret_proof(site):
    token = site.facebook_token(email="fb@example.com")

    def me(**params: str) -> tuple[int, dict]:
        query = urllib.parse.urlencode({"access_token": token, "fields": "id,email", **params})
        try:
            url = f"{site.facebook_graph_url}/me?{query}"
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    assert me()[1]["error"]["code"] == 100
    assert me(appsecret_proof="00" * 32)[1]["error"]["code"] == 100
    status, body = me(appsecret_proof=appsecret_proof(token, site.facebook_app_secret))
    assert (status, body["email"]) == (200, "fb@example.com")


# --- the function, end to end in a fresh process --------------------------------------------

E2E_SCRIPT = """
import json
from api.oauth import app
from tests.support import call
out = []
for provider, body, language in json.loads(REQUESTS):
    response = call(app, "POST", f"/api/v1/auth/oauth/{provider}", json_body=body, isolated=True,
                    headers={**json.loads(HEADERS), "Accept-Language": language})
    out.append({"status": response.status, "body": response.json(),
                "cache": response.headers.get("cache-control")})
print("RESULT " + json.dumps(out))
"""


@pytest.mark.django_db(transaction=True)
def test_the_oauth_function_end_to_end(site, kv):
    api_key, secret = api_key_create(name="oauth e2e", kind="secret", scopes=["storefront:write"])
    sub = new_sub()
    requests = [
        ["google", {"token": token_for(site, "google", sub=sub, email="e2e@example.com")}, "en"],
        ["google", {"token": token_for(site, "google", sub=sub, email="e2e@example.com")}, "en"],
        ["google", {"token": site.issue_id_token("google", aud="someone-else")}, "bn"],
        ["myspace", {"token": "x"}, "en"],
    ]
    db = connection.settings_dict
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}"
        f"@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        **site.env(),
    }
    headers = {"X-API-Key": api_key.key_id, "X-API-Secret": secret, "User-Agent": "e2e"}
    preamble = f"REQUESTS = {json.dumps(requests)!r}\nHEADERS = {json.dumps(headers)!r}\n"
    result = run_python(preamble + E2E_SCRIPT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    first, again, wrong_audience, unknown = json.loads(result.stdout.split("RESULT ", 1)[1])

    assert (first["status"], first["body"]["created"]) == (200, True), first
    assert first["cache"] == "no-store"
    assert (again["status"], again["body"]["created"]) == (200, False)
    assert again["body"]["user"]["email"] == "e2e@example.com"
    claims = access_token_verify(again["body"]["tokens"]["access_token"])
    assert claims.user_id == str(User.objects.get(email="e2e@example.com").pk)
    assert kv.exists(session_key(claims.session_id)) == 1
    assert wrong_audience["status"] == 401
    assert wrong_audience["body"]["error"]["code"] == "oauth_token_invalid"
    assert wrong_audience["body"]["error"]["message"].startswith("সাইন-ইন টোকেনটি")
    assert unknown["status"] == 422  # the provider is part of the route's contract
