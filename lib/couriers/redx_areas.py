"""RedX's delivery areas for the adapter (lib/couriers/redx.py): every parcel needs a RedX
`delivery_area` name and `delivery_area_id`. `GET /areas?district_name=` (or `?post_code=`,
or all) is cached in KV for REDX_AREA_CACHE_SECONDS (a day), shared by every instance; an
empty answer is not cached. `redx_area_resolve` matches our parcel's area (upazila / thana)
name within its district, ignoring case, spaces and hyphens; else REDX_DEFAULT_AREA_ID; else
CourierError `courier_area_unknown`, for staff to correct the address."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.conf import RedxConfig
from lib.couriers.base import CourierError

AREAS_KEY = "couriers:redx:areas:{scope}"


@dataclass(frozen=True, slots=True)
class RedxArea:
    id: int
    name: str
    post_code: str = ""


def name_key(name: Any) -> str:
    """An area or district name as compared: case, spaces and hyphens do not count."""
    return "".join(str(name or "").replace("-", " ").split()).casefold()


class RedxAreaLookup:
    """Mixed into the adapter, which supplies `config`, `kv` and `_call`."""

    config: RedxConfig
    kv: Any

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> dict:
        raise NotImplementedError

    def areas(self, *, district_name: str = "", post_code: str = "") -> list[RedxArea]:
        """RedX's delivery areas (all, or one district's, or one post code's), cached in KV."""
        if district_name:
            scope, params = f"district:{name_key(district_name)}", {"district_name": district_name}
        elif post_code:
            scope, params = f"post_code:{post_code.strip()}", {"post_code": post_code.strip()}
        else:
            scope, params = "all", {}
        key = AREAS_KEY.format(scope=scope)
        cached = self.kv.get(key)
        if cached:
            try:
                return [RedxArea(**item) for item in json.loads(cached)]
            except (ValueError, TypeError):
                pass  # unreadable: ask RedX again
        body = self._call("GET", "/areas", params=params)
        areas = [
            RedxArea(
                id=int(item["id"]),
                name=str(item["name"]).strip(),
                post_code=str(item.get("post_code") or ""),
            )
            for item in body.get("areas") or []
            if isinstance(item, dict) and str(item.get("id", "")).isdigit() and item.get("name")
        ]
        if areas:  # an empty answer is not cached: a typo today should not last a day
            record = json.dumps(
                [{"id": a.id, "name": a.name, "post_code": a.post_code} for a in areas]
            )
            self.kv.set(key, record, ex=self.config.area_cache_seconds)
        return areas

    def redx_area_resolve(self, *, district: str, area: str) -> RedxArea:
        """The RedX delivery area of our (district, area) names; see the module docstring."""
        theirs = dict((name_key(ours), name) for ours, name in self.config.district_names)
        district_name = theirs.get(name_key(district), district.strip())
        candidates = self.areas(district_name=district_name) if district_name else []
        wanted = name_key(area)
        if wanted:
            for candidate in candidates:
                if name_key(candidate.name) == wanted:
                    return candidate
        fallback = self.config.default_area_id
        if fallback:
            for candidate in [*candidates, *self.areas()]:
                if candidate.id == fallback:
                    return candidate
            raise CourierError(
                f"redx: REDX_DEFAULT_AREA_ID {fallback} is not a RedX area",
                code="courier_area_unknown",
            )
        raise CourierError(
            f"redx: no delivery area named {area!r} in district {district!r}",
            code="courier_area_unknown",
        )
