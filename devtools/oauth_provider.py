"""A local stand-in for the sign-in providers: Google's and Apple's key sets, Facebook's Graph API.

It holds real RSA keys and signs real ID tokens, so the code under test verifies them exactly
as it verifies the providers' own. `env()` gives the API's variables pointing at it
(`OAUTH_GOOGLE_JWKS_URL=<url>/google/oauth2/v3/certs`, `GOOGLE_CLIENT_IDS`, the Apple and
Facebook equivalents).

Routes (an optional Graph version, `/facebook/v21.0/...`, is accepted and ignored):

* `GET /google/oauth2/v3/certs`, `GET /apple/auth/keys`: the JWKS (`{"keys": [...]}`, RS256,
  `use: sig`) of every key the provider currently publishes;
* `GET /facebook/debug_token?input_token=T&access_token=<app_id>|<app_secret>`: Graph's token
  metadata `{"data": {app_id, type, application, expires_at, is_valid, issued_at, scopes,
  user_id[, error]}}`. An unknown token is `{"data": {"is_valid": false, "error": {...}}}`;
  an app access token that is not `<id>|<secret>` of a known app is a 400 OAuthException 190;
* `GET /facebook/me?fields=id,name,email&access_token=T&appsecret_proof=P`: the token's user.
  A bad, expired or revoked token is a 400 OAuthException 190; the proof
  (HMAC-SHA256 of the token keyed with the app secret) is required, as with the app setting
  "Require App Secret": missing or wrong is a 400 GraphMethodException 100;
* `POST /_issue/{google|apple|facebook}` with JSON claims (local development): a signed ID token
  `{"id_token": ...}`, or for Facebook `{"access_token": ...}` for
  `{"user_id", "name", "email"}`.

In tests use the object `start_oauth_provider()` returns: `issue_id_token(provider, **claims)`,
`rotate_keys(provider)` (a new key and kid), `facebook_token(...)`, `fail(target, status)`,
`hang(target, seconds)`, `recover()` and `hits(route)` (requests served per route, e.g.
"google.jwks", "facebook.me").

Run it standalone with `python -m devtools.oauth_provider [--port 3044]`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from devtools.sim_runner import assignments, command_line, serve_until_interrupted
from devtools.wsgi_server import (
    BackgroundServer,
    Environ,
    StartResponse,
    json_response,
    make_server,
    serve_on_thread,
    server_url,
)

ISSUERS = {"google": "https://accounts.google.com", "apple": "https://appleid.apple.com"}
JWKS_PATHS = {"google": "/google/oauth2/v3/certs", "apple": "/apple/auth/keys"}
GRAPH_PREFIX = "/facebook"
DEFAULT_GOOGLE_CLIENT_ID = "standin-web.apps.googleusercontent.com"
DEFAULT_APPLE_CLIENT_ID = "store.zest.standin"
DEFAULT_FACEBOOK_APP = ("100000000000001", "standin-facebook-app-secret")
_sequence = itertools.count(1)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64url_json(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass
class FacebookToken:
    user_id: str
    app_id: str
    name: str | None
    email: str | None
    expires_at: int
    valid: bool = True
    issued_at: int = field(default_factory=lambda: int(time.time()))


def graph_error(message: str, code: int, *, kind: str = "OAuthException", **extra: Any) -> dict:
    return {
        "error": {
            "message": message,
            "type": kind,
            "code": code,
            **extra,
            "fbtrace_id": secrets.token_urlsafe(8),
        }
    }


class OAuthProviderServer(BackgroundServer):
    """The running stand-in and the switches tests use to drive it."""

    def __init__(
        self,
        server: WSGIServer,
        *,
        google_client_id: str,
        apple_client_id: str,
        facebook_app: tuple[str, str],
    ) -> None:
        url = server_url(server)
        self.google_client_id = google_client_id
        self.apple_client_id = apple_client_id
        self.facebook_app_id, self.facebook_app_secret = facebook_app
        self.google_jwks_url = url + JWKS_PATHS["google"]
        self.apple_jwks_url = url + JWKS_PATHS["apple"]
        self.facebook_graph_url = url + GRAPH_PREFIX
        self._lock = threading.Lock()
        self._keys: dict[str, list[SigningKey]] = {"google": [], "apple": []}
        self._facebook_apps = {self.facebook_app_id: self.facebook_app_secret}
        self._facebook_tokens: dict[str, FacebookToken] = {}
        self._failures: dict[str, int] = {}
        self._hangs: dict[str, float] = {}
        self._release = threading.Event()
        self._hits: Counter[str] = Counter()
        for provider in self._keys:
            self.rotate_keys(provider)
        super().__init__(server, serve_on_thread(server, self, name="oauth-provider"))

    # --- switches ---------------------------------------------------------------------------

    def rotate_keys(self, provider: str, *, keep_previous: bool = True) -> str:
        """Sign with a new key (new kid) from now on; the old one stays published unless
        `keep_previous=False`. Returns the new kid."""
        key = SigningKey(f"{provider}-key-{next(_sequence)}", new_rsa_key())
        with self._lock:
            self._keys[provider] = [key, *(self._keys[provider] if keep_previous else [])]
        return key.kid

    def current_kid(self, provider: str) -> str:
        return self._keys[provider][0].kid

    def fail(self, target: str, status: int = 500) -> None:
        """Answer every request to `target` ("google", "apple", "facebook") with `status`."""
        self._failures[target] = status

    def hang(self, target: str, seconds: float = 30.0) -> None:
        """Hold every request to `target` for `seconds` (or until `recover()`) before answering."""
        self._release.clear()
        self._hangs[target] = seconds

    def recover(self) -> None:
        self._failures.clear()
        self._hangs.clear()
        self._release.set()

    def hits(self, route: str) -> int:
        return self._hits[route]

    def env(self) -> dict[str, str]:
        """The API's environment variables pointing it at this stand-in."""
        return {
            "OAUTH_GOOGLE_JWKS_URL": self.google_jwks_url,
            "GOOGLE_CLIENT_IDS": self.google_client_id,
            "OAUTH_APPLE_JWKS_URL": self.apple_jwks_url,
            "APPLE_CLIENT_IDS": self.apple_client_id,
            "OAUTH_FACEBOOK_GRAPH_URL": self.facebook_graph_url,
            "FACEBOOK_APP_ID": self.facebook_app_id,
            "FACEBOOK_APP_SECRET": self.facebook_app_secret,
        }

    def stop(self) -> None:
        self._release.set()
        super().stop()

    # --- tokens -----------------------------------------------------------------------------

    def issue_id_token(
        self,
        provider: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        """A signed ID token as `provider` issues it. Defaults: the provider's issuer, our
        stand-in client id as audience, a new subject, issued now, valid one hour. `key` signs
        with another key (under the current kid unless `kid` is given); `algorithm="none"`
        makes an unsigned token."""
        now = int(time.time())
        audience = self.google_client_id if provider == "google" else self.apple_client_id
        payload = {
            "iss": ISSUERS[provider],
            "aud": audience,
            "sub": f"{provider}-user-{next(_sequence)}",
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        current = self._keys[provider][0]
        headers = {"kid": kid or current.kid}
        if algorithm == "none":
            return (
                f"{b64url_json({'alg': 'none', 'typ': 'JWT', **headers})}.{b64url_json(payload)}."
            )
        return jwt.encode(payload, key or current.private_key, algorithm=algorithm, headers=headers)

    def facebook_token(
        self,
        *,
        user_id: str | None = None,
        name: str | None = "Facebook User",
        email: str | None = None,
        app_id: str | None = None,
        expires_in: int = 3600,
        valid: bool = True,
    ) -> str:
        """A Facebook user access token; `app_id` another app's id for a token issued to it,
        `expires_in <= 0` for an expired one, `valid=False` for a revoked one."""
        token = "EAA" + secrets.token_urlsafe(48)
        app_id = app_id or self.facebook_app_id
        with self._lock:
            self._facebook_apps.setdefault(app_id, secrets.token_hex(16))
            self._facebook_tokens[token] = FacebookToken(
                user_id=user_id or str(10**15 + next(_sequence)),
                app_id=app_id,
                name=name,
                email=email,
                expires_at=int(time.time()) + expires_in,
                valid=valid,
            )
        return token

    # --- the WSGI app -----------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        query = {name: values[0] for name, values in parse_qs(environ["QUERY_STRING"]).items()}
        route = self._route(environ["REQUEST_METHOD"], path)
        self._hits[route] += 1  # counted whatever the answer
        target = path.strip("/").split("/")[0]
        if target in self._hangs:
            self._release.wait(self._hangs[target])
        if target in self._failures:
            body = graph_error("An unexpected error has occurred.", 2, is_transient=True)
            return json_response(start_response, self._failures[target], body)
        if route.endswith(".jwks"):
            with self._lock:
                keys = [key.jwk() for key in self._keys[route.removesuffix(".jwks")]]
            return json_response(start_response, 200, {"keys": keys})
        if route == "facebook.debug_token":
            return json_response(start_response, *self._debug_token(query))
        if route == "facebook.me":
            return json_response(start_response, *self._me(query))
        if route == "issue":
            return json_response(
                start_response, *self._issue(path.removeprefix("/_issue/"), environ)
            )
        return json_response(start_response, 404, graph_error("Unknown path.", 803))

    @classmethod
    def _route(cls, method: str, path: str) -> str:
        if method == "GET":
            for provider, jwks_path in JWKS_PATHS.items():
                if path == jwks_path:
                    return f"{provider}.jwks"
            graph_path = cls._graph_path(path)
            if graph_path in ("/debug_token", "/me"):
                return "facebook." + graph_path.lstrip("/")
        if method == "POST" and path.startswith("/_issue/"):
            return "issue"
        return "unknown"

    @staticmethod
    def _graph_path(path: str) -> str | None:
        if not path.startswith(GRAPH_PREFIX + "/"):
            return None
        rest = path.removeprefix(GRAPH_PREFIX)
        version, _, remainder = rest.lstrip("/").partition("/")
        if version.startswith("v") and version[1:].replace(".", "").isdigit():
            return "/" + remainder
        return rest

    def _debug_token(self, query: dict[str, str]) -> tuple[int, dict]:
        app_id, _, secret = query.get("access_token", "").partition("|")
        known_secret = self._facebook_apps.get(app_id)
        if known_secret is None or not hmac.compare_digest(known_secret, secret):
            return 400, graph_error("Invalid OAuth access token signature.", 190)
        token = self._facebook_tokens.get(query.get("input_token", ""))
        if token is None:
            error = {
                "code": 190,
                "message": "Invalid OAuth access token - Cannot parse access token",
            }
            return 200, {"data": {"error": error, "is_valid": False, "scopes": []}}
        data: dict[str, Any] = {
            "app_id": token.app_id,
            "type": "USER",
            "application": "Zest Store (stand-in)",
            "data_access_expires_at": token.expires_at + 90 * 86400,
            "expires_at": token.expires_at,
            "is_valid": True,
            "issued_at": token.issued_at,
            "scopes": ["email", "public_profile"],
            "user_id": token.user_id,
        }
        problem = self._token_problem(token)
        if problem is not None:
            data["is_valid"] = False
            data["error"] = {"code": 190, "message": problem[0], "subcode": problem[1]}
        return 200, {"data": data}

    @staticmethod
    def _token_problem(token: FacebookToken) -> tuple[str, int] | None:
        if token.expires_at <= time.time():
            return "Error validating access token: Session has expired.", 463
        if not token.valid:
            return "Error validating access token: The session has been invalidated.", 460
        return None

    def _me(self, query: dict[str, str]) -> tuple[int, dict]:
        raw_token = query.get("access_token", "")
        token = self._facebook_tokens.get(raw_token)
        if token is None:
            return 400, graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        problem = self._token_problem(token)
        if problem is not None:
            return 400, graph_error(problem[0], 190, error_subcode=problem[1])
        proof = query.get("appsecret_proof")
        if not proof:
            message = "API calls from the server require an appsecret_proof argument"
            return 400, graph_error(message, 100, kind="GraphMethodException")
        secret = self._facebook_apps[token.app_id]
        expected = hmac.new(secret.encode(), raw_token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, proof):
            message = "Invalid appsecret_proof provided in the API argument"
            return 400, graph_error(message, 100, kind="GraphMethodException")
        profile = {"id": token.user_id, "name": token.name, "email": token.email}
        fields = query.get("fields", "id,name").split(",")
        return 200, {name: profile[name] for name in fields if profile.get(name) is not None}

    def _issue(self, provider: str, environ: Environ) -> tuple[int, dict]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            claims = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError:
            claims = None
        if not isinstance(claims, dict):
            return 400, {"error": "the body must be a JSON object of claims"}
        if provider == "facebook":
            fields = {name: claims.get(name) for name in ("user_id", "name", "email")}
            return 200, {"access_token": self.facebook_token(**fields)}
        if provider in ISSUERS:
            return 200, {"id_token": self.issue_id_token(provider, **claims)}
        return 404, {"error": f"unknown provider {provider!r}"}


def start_oauth_provider(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    google_client_id: str = DEFAULT_GOOGLE_CLIENT_ID,
    apple_client_id: str = DEFAULT_APPLE_CLIENT_ID,
    facebook_app: tuple[str, str] = DEFAULT_FACEBOOK_APP,
) -> OAuthProviderServer:
    """Start the stand-in on a daemon thread (`port=0` picks a free port)."""
    return OAuthProviderServer(
        make_server(host, port),
        google_client_id=google_client_id,
        apple_client_id=apple_client_id,
        facebook_app=facebook_app,
    )


# The variables that configure sign-in providers: any of them set means the developer chose
# their own (e.g. real Google client ids), and `zest dev` leaves sign-in alone.
CONFIGURING_ENV = (
    "GOOGLE_CLIENT_IDS",
    "APPLE_CLIENT_IDS",
    "FACEBOOK_APP_ID",
    "OAUTH_GOOGLE_JWKS_URL",
    "OAUTH_APPLE_JWKS_URL",
    "OAUTH_FACEBOOK_GRAPH_URL",
)


def local_oauth_provider_start() -> tuple[dict[str, str], OAuthProviderServer | None]:
    """For `zest dev`: start the stand-in on a free port unless sign-in is configured.
    Returns the variables pointing the API at it (to set before the settings are first used)
    and the running server (None when left alone)."""
    if any(os.environ.get(name, "").strip() for name in CONFIGURING_ENV):
        return {}, None
    provider = start_oauth_provider()
    return provider.env(), provider


def main() -> None:
    args = command_line(__doc__, port=3044).parse_args()
    provider = start_oauth_provider(args.host, args.port)
    serve_until_interrupted(
        provider,
        f"OAuth provider stand-in on {provider.url}; configure the API with:",
        *assignments(provider.env(), indent="  "),
        f'Tokens: curl -X POST {provider.url}/_issue/google -d \'{{"email": "a@example.com"}}\'',
    )


if __name__ == "__main__":
    main()
