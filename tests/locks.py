"""The hash-pinned lock files (`scripts/lock` writes them): parsed, and their markers
evaluated for a given Python and platform."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.utils import canonicalize_name

from lib.conf import REPO_ROOT

RUNTIME_LOCK = REPO_ROOT / "requirements.lock"
DEV_LOCK = REPO_ROOT / "requirements-dev.lock"
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]+))?"
)
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# Where Vercel's functions run (`.vc-config.json`: python3.12, x86_64 Linux).
VERCEL_ENVIRONMENT = {
    **default_environment(),
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    marker: Marker | None
    hashes: int

    def applies(self, environment: dict[str, str] | None = None) -> bool:
        return self.marker is None or self.marker.evaluate(environment)


def read_lock(path: Path) -> dict[str, Pin]:
    """Every pinned package of a lock file, by canonical name."""
    pins: dict[str, Pin] = {}
    current: dict | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        found = PIN.match(line)
        if found:
            marker = (found["marker"] or "").strip()
            current = {
                "name": canonicalize_name(found["name"]),
                "version": found["version"],
                "marker": Marker(marker) if marker else None,
                "hashes": 0,
            }
            pins[current["name"]] = current  # type: ignore[assignment]
        elif current is not None and HASH.search(line):
            current["hashes"] += 1
    return {name: Pin(**fields) for name, fields in pins.items()}  # type: ignore[arg-type]
