"""The lock files are what CI, scripts/dev and the deployment install: complete, within
pyproject.toml's bounds, hash-pinned, free of hosts and paths, and really installed."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from lib.conf import REPO_ROOT
from tests.locks import DEV_LOCK, RUNTIME_LOCK, read_lock

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
DEV = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]]


def extra_requirements(requirement: Requirement) -> set[str]:
    """What the requirement's extras add (`psycopg[binary,pool]`: psycopg-binary, ...), from
    the installed distribution's metadata."""
    names = set()
    for line in metadata.requires(requirement.name) or []:
        dependency = Requirement(line)
        if dependency.marker is not None and any(
            dependency.marker.evaluate({"extra": extra}) for extra in requirement.extras
        ):
            names.add(canonicalize_name(dependency.name))
    return names


def unmet(requirements: list[Requirement], lock: dict) -> list[str]:
    problems = []
    for requirement in requirements:
        pin = lock.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement.name} is not in the lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement.name}=={pin.version} is outside {requirement.specifier}")
        problems += [
            f"{requirement.name}[{','.join(requirement.extras)}] needs {name}, not in the lock"
            for name in extra_requirements(requirement)
            if name not in lock
        ]
    return problems


def test_every_runtime_dependency_is_locked_within_its_bounds():
    assert unmet(RUNTIME, read_lock(RUNTIME_LOCK)) == []


def test_every_dev_dependency_is_locked_within_its_bounds_with_the_runtime_pins():
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)

    assert unmet(RUNTIME + DEV, dev) == []
    # CI tests exactly what is deployed
    assert {name: dev[name].version for name in runtime if name in dev} == {
        name: pin.version for name, pin in runtime.items()
    }


def test_the_dev_tools_that_decide_formatting_and_the_build_are_pinned_exactly():
    pinned = {canonicalize_name(r.name): str(r.specifier) for r in DEV}
    assert pinned["ruff"].startswith("==")
    assert pinned["uv"].startswith("==")


def test_every_pin_carries_hashes_and_the_files_name_no_host_or_path():
    for path in (RUNTIME_LOCK, DEV_LOCK):
        text = path.read_text(encoding="utf-8")
        assert [pin.name for pin in read_lock(path).values() if pin.hashes == 0] == [], path
        assert not re.search(r"https?://|--index-url|--extra-index-url|--find-links", text), path
        assert not re.search(r"(^|\s)(/|[A-Za-z]:\\)\S", text), path  # no machine paths
        assert "scripts/lock" in text.splitlines()[1], "the header names the refresh command"


def test_this_environment_was_installed_from_the_dev_lock():
    wrong = {}
    for name, pin in read_lock(DEV_LOCK).items():
        if not pin.applies():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pin.version:
            wrong[name] = (installed, pin.version)
    assert wrong == {}, "installed (left) differs from the lock: install from requirements-dev.lock"


def test_the_deployment_installs_the_runtime_lock():
    command = PYPROJECT["tool"]["vercel"]["scripts"]["vercel-install"]
    assert "--require-hashes" in command
    assert command.split("-r ", 1)[1].split()[0] == RUNTIME_LOCK.name
