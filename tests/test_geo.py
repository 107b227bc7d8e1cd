"""The Bangladesh gate: allowed, refused, allowlisted and exempt callers, the platform header
trusted only on Vercel, and the gate's defaults (fresh processes with their own environment)."""

from __future__ import annotations

import ipaddress
import json

from lib.runtime import handle_api_error

import pytest
from django.test import RequestFactory

from lib.access.context import AccessContext
from lib.access.geo import GeoPolicy, geo_gate, ip_country, parse_ip
from lib.errors import MESSAGES, ApiError
from tests.support import run_python

BD_IPS = ("114.130.0.1", "103.4.145.1", "27.147.128.1", "2404:1c40::1", "::ffff:114.130.0.1")
FOREIGN_IPS = {"8.8.8.8": "US", "1.0.16.1": "JP", "2001:4860:4860::8888": "US"}
GATE_ON = GeoPolicy(enabled=True, trust_platform_header=False, allowed_countries=frozenset({"BD"}))
rf = RequestFactory()


def request_from(ip: str, path: str = "/api/v1/products", **headers: str):
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return rf.get(path, REMOTE_ADDR=ip, **meta)


def gate(request, policy: GeoPolicy = GATE_ON) -> tuple[str, str | None]:
    """("allowed" | "blocked", the country recorded on the access context)."""
    access = AccessContext()
    try:
        geo_gate(request, access, policy=policy)
    except ApiError as exc:
        assert (exc.status_code, exc.code) == (403, "region_blocked")
        return "blocked", access.country
    return "allowed", access.country


@pytest.mark.parametrize("ip", BD_IPS)
def test_offline_lookup_places_bangladeshi_addresses_in_bangladesh(ip):
    assert ip_country(parse_ip(ip)) == "BD"


@pytest.mark.parametrize(("ip", "country"), FOREIGN_IPS.items())
def test_offline_lookup_places_foreign_addresses_abroad(ip, country):
    assert ip_country(parse_ip(ip)) == country


@pytest.mark.parametrize("ip", BD_IPS)
def test_a_caller_in_bangladesh_is_allowed(ip):
    assert gate(request_from(ip)) == ("allowed", "BD")


@pytest.mark.parametrize(("ip", "country"), FOREIGN_IPS.items())
def test_a_caller_abroad_is_refused(ip, country):
    assert gate(request_from(ip)) == ("blocked", country)


def test_the_refusal_is_a_403_in_the_callers_language():
    for language, message in (("bn-BD,bn;q=0.9", MESSAGES["region_blocked"][1]), ("en", None)):
        request = request_from("8.8.8.8", accept_language=language)
        with pytest.raises(ApiError) as refused:
            geo_gate(request, AccessContext(), policy=GATE_ON)
        response = handle_api_error(request, refused.value)
        error = json.loads(response.content)["error"]
        assert response.status_code == 403
        assert error["code"] == "region_blocked"
        assert error["message"] == (message or MESSAGES["region_blocked"][0])


def test_allowlisted_networks_are_allowed_from_abroad():
    policy = GeoPolicy(
        enabled=True,
        trust_platform_header=False,
        allowed_countries=frozenset({"BD"}),
        allow_networks=(
            ipaddress.ip_network("8.8.8.0/24"),
            ipaddress.ip_network("2001:4860:4860::/48"),
        ),
    )
    assert gate(request_from("8.8.8.8"), policy) == ("allowed", "US")
    assert gate(request_from("2001:4860:4860::8888"), policy) == ("allowed", "US")
    assert gate(request_from("8.8.4.4"), policy) == ("blocked", "US")  # outside the /24
    assert gate(request_from("1.0.16.1"), policy) == ("blocked", "JP")


def test_other_countries_can_be_allowed():
    policy = GeoPolicy(
        enabled=True, trust_platform_header=False, allowed_countries=frozenset({"BD", "JP"})
    )
    assert gate(request_from("1.0.16.1"), policy) == ("allowed", "JP")
    assert gate(request_from("8.8.8.8"), policy) == ("blocked", "US")


@pytest.mark.parametrize(
    "path", ["/api/webhooks/bkash", "/api/cron/outbox", "/api/health", "/api/health/deep"]
)
def test_payment_callbacks_cron_and_health_are_reachable_from_abroad(path):
    assert gate(request_from("8.8.8.8", path)) == ("allowed", None)


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/auth/login", "/api/healthz"])
def test_other_paths_are_gated(path):
    assert gate(request_from("8.8.8.8", path))[0] == "blocked"


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.7", "fe80::1"])
def test_loopback_and_private_addresses_are_allowed(ip):
    assert gate(request_from(ip)) == ("allowed", None)


def test_a_caller_with_no_usable_address_is_refused():
    assert gate(request_from("")) == ("blocked", None)
    assert gate(request_from("not-an-ip")) == ("blocked", None)


def test_the_platform_header_is_ignored_when_not_on_vercel():
    assert gate(request_from("8.8.8.8", x_vercel_ip_country="BD")) == ("blocked", "US")
    assert gate(request_from("114.130.0.1", x_vercel_ip_country="US")) == ("allowed", "BD")


# --- the process's own policy, from its environment ------------------------------------

GATE_SCRIPT = """
import json
import lib.runtime
from django.test import RequestFactory
from lib.access.context import AccessContext
from lib.access.geo import geo_gate
from lib.errors import ApiError

def run(ip, headers):
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    access = AccessContext()
    try:
        geo_gate(RequestFactory().get("/api/v1/products", REMOTE_ADDR=ip, **meta), access)
    except ApiError as exc:
        return f"{exc.code}:{access.country}"
    return f"allowed:{access.country}"

print(json.dumps([run(ip, headers) for ip, headers in CASES]))
"""


def gate_in_fresh_process(env: dict[str, str], cases: list[tuple[str, dict[str, str]]]) -> list:
    base = {"VERCEL": "", "GEO_GATE": "", "GEO_ALLOWED_COUNTRIES": "", "GEO_ALLOW_CIDRS": ""}
    result = run_python(f"CASES = {cases!r}\n{GATE_SCRIPT}", env={**base, **env})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_gate_is_off_by_default_in_local_development():
    cases = [("8.8.8.8", {}), ("1.0.16.1", {"X-Vercel-IP-Country": "JP"})]
    assert gate_in_fresh_process({}, cases) == ["allowed:None", "allowed:None"]


def test_the_gate_can_be_turned_on_locally_with_an_allowlist():
    env = {"GEO_GATE": "on", "GEO_ALLOW_CIDRS": " 8.8.8.0/24 , 2001:4860::/32"}
    cases = [
        ("8.8.8.8", {}),
        ("2001:4860:4860::8888", {}),
        ("1.0.16.1", {"X-Vercel-IP-Country": "BD"}),
        ("114.130.0.1", {}),
    ]
    assert gate_in_fresh_process(env, cases) == [
        "allowed:US",
        "allowed:US",
        "region_blocked:JP",
        "allowed:BD",
    ]


def test_on_vercel_the_gate_is_on_and_trusts_the_platform_header():
    cases = [
        ("8.8.8.8", {"X-Vercel-IP-Country": "BD"}),
        ("114.130.0.1", {"X-Vercel-IP-Country": "US"}),
        # No header from the platform: the offline lookup of the client address decides.
        ("114.130.0.1", {}),
        ("8.8.8.8", {}),
        # On Vercel the client address is the platform's x-real-ip, not the peer.
        ("10.0.0.1", {"X-Real-IP": "1.0.16.1"}),
    ]
    assert gate_in_fresh_process({"VERCEL": "1", "GEO_GATE": "auto"}, cases) == [
        "allowed:BD",
        "region_blocked:US",
        "allowed:BD",
        "region_blocked:US",
        "region_blocked:JP",
    ]


def test_a_gate_setting_that_is_not_understood_stops_the_process():
    result = run_python("import lib.runtime", env={"GEO_GATE": "maybe"})
    assert result.returncode != 0
    assert "GEO_GATE must be one of auto, on, off" in result.stderr
    result = run_python("import lib.runtime", env={"GEO_ALLOW_CIDRS": "10.0.0.0/33"})
    assert result.returncode != 0
    assert "GEO_ALLOW_CIDRS" in result.stderr


FUNCTION_SCRIPT = """
import json
from api.catalog import app
from tests.support import call

answers = []
for path, country in (
    ("/api/v1/products", "US"),
    ("/api/v1/products", "BD"),
    ("/api/webhooks/bkash", "US"),
):
    headers = {"X-Vercel-IP-Country": country, "X-Real-IP": "8.8.8.8", "Accept-Language": "bn"}
    answer = call(app, "GET", path, headers=headers)
    answers.append([answer.status, answer.json()["error"]])
print(json.dumps(answers, ensure_ascii=False))
"""


def test_a_function_on_vercel_refuses_callers_abroad_in_their_language():
    result = run_python(FUNCTION_SCRIPT, env={"VERCEL": "1", "GEO_GATE": "auto"})
    assert result.returncode == 0, result.stderr[-2000:]
    abroad, at_home, callback = json.loads(result.stdout.strip().splitlines()[-1])
    assert abroad[0] == 403
    assert (abroad[1]["code"], abroad[1]["message"]) == (
        "region_blocked",
        MESSAGES["region_blocked"][1],
    )
    # From Bangladesh the gate lets the request on to the next layer: the API key.
    assert at_home[0] == 401
    # Payment callbacks pass the gate and need no API key (this function has no such route).
    assert (callback[0], callback[1]["code"]) == (404, "not_found")
