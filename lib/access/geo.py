"""The Bangladesh gate: the API answers only callers in the allowed countries.

Where a caller is:
- on Vercel, the platform's `x-vercel-ip-country` header (Vercel sets it; elsewhere it is client
  input and ignored); when Vercel sends none, the offline lookup below;
- elsewhere, the client IP looked up in `iptocc`'s offline copy of the regional internet
  registries' allocations (loaded on first use, about 1 ms once per process; a lookup takes
  microseconds and does no I/O).

Who passes, in this order:
1. everyone, when the gate is off (`GEO_GATE`: "auto" = on only on Vercel, so off in local
   development; "on"; "off");
2. every caller of the paths that machines abroad must reach (payment callbacks, cron, health:
   `lib.access.paths.GEO_EXEMPT_PREFIXES`);
3. callers whose country is in `GEO_ALLOWED_COUNTRIES` (default "BD");
4. callers from a network of the allowlist `GEO_ALLOW_CIDRS` (an office VPN abroad, uptime
   monitors, a partner's servers);
5. loopback, private and link-local addresses (local development, internal calls). These never
   reach a function on Vercel from the internet: the platform puts the public client address in
   `x-real-ip`.

Everyone else, including a public address no registry assigns to a country, is refused with
403 `region_blocked`. There is no second "bypass" list of networks: it would mean the same as
the allowlist; paths that skip the gate are the exemptions of step 2.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest

from lib.access.context import AccessContext, client_ip
from lib.access.paths import is_geo_exempt
from lib.conf import IPNetwork, config
from lib.errors import ApiError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PLATFORM_COUNTRY_HEADER = "X-Vercel-IP-Country"


@dataclass(frozen=True, slots=True)
class GeoPolicy:
    """What the gate enforces; `GEO_POLICY` is the process's, read from the configuration."""

    enabled: bool
    trust_platform_header: bool
    allowed_countries: frozenset[str]
    allow_networks: tuple[IPNetwork, ...] = ()


GEO_POLICY = GeoPolicy(
    enabled=config.geo_gate,
    trust_platform_header=config.on_vercel,
    allowed_countries=config.geo_allowed_countries,
    allow_networks=config.geo_allow_cidrs,
)


@functools.cache
def _country_lookup() -> Callable[[str], str | None]:
    # Imported on first use: functions with the gate off never load the 1.7 MB table.
    from iptocc import country_code

    return country_code


def parse_ip(value: str) -> IPAddress | None:
    """The address, with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) unwrapped to IPv4."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def ip_country(address: IPAddress | None) -> str | None:
    """ISO 3166 alpha-2 code of the country a registry assigned the address to, if any."""
    if address is None or not address.is_global:
        return None
    return _country_lookup()(str(address))


def is_internal(address: IPAddress) -> bool:
    return address.is_loopback or address.is_private or address.is_link_local


def request_country(
    request: HttpRequest, address: IPAddress | None, policy: GeoPolicy
) -> str | None:
    if policy.trust_platform_header:
        header = request.headers.get(PLATFORM_COUNTRY_HEADER, "").strip().upper()
        if header:
            return header
    return ip_country(address)


def geo_gate(
    request: HttpRequest, access: AccessContext, *, policy: GeoPolicy = GEO_POLICY
) -> None:
    """Refuse callers outside the allowed countries (403 `region_blocked`); sets
    `access.country` (and `access.ip` when unset) for every checked request."""
    if not policy.enabled or is_geo_exempt(request.path):
        return
    access.ip = access.ip or client_ip(request)
    address = parse_ip(access.ip)
    access.country = request_country(request, address, policy)
    if access.country in policy.allowed_countries:
        return
    if address is not None and (
        is_internal(address) or any(address in network for network in policy.allow_networks)
    ):
        return
    raise ApiError("region_blocked", status=403)
