"""Collect the admin's static files for a deploy: `python -m lib.access.admin_static`.

Run by the build (pyproject.toml [tool.vercel.scripts]) before the functions are bundled: the
files land in STATIC_ROOT under fingerprinted names (`base.5af66c1b1797.css`) with the
manifest `staticfiles.json`, whose presence switches the settings to serve those names
(WhiteNoise marks them immutable: cached for good). Nothing is collected when the manifest
already matches the sources, so the build's repeated runs (one per function) cost little.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from contextlib import suppress
from pathlib import Path

SOURCES_KEY = "zest_sources"  # our entry in the manifest: a digest of what was collected


def static_sources_digest() -> str:
    """A digest of every file the finders would collect (names, sizes and contents)."""
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in sorted(finder.list([]), key=lambda item: item[0]):
            digest.update(path.encode())
            with storage.open(path) as handle:
                digest.update(handle.read())
    return digest.hexdigest()


def static_collect(*, force: bool = False) -> bool:
    """Collect into STATIC_ROOT with fingerprinted names unless the manifest there is of the
    same sources; True when it collected."""
    from django.conf import settings
    from django.contrib.staticfiles.management.commands import collectstatic
    from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
    from django.core.management import call_command

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    digest = static_sources_digest()
    if not force and manifest.exists():
        with suppress(ValueError, OSError):  # unreadable: collect again
            if json.loads(manifest.read_text()).get(SOURCES_KEY) == digest:
                return False
    command = collectstatic.Command()
    command.storage = ManifestStaticFilesStorage(location=settings.STATIC_ROOT)
    call_command(command, interactive=False, clear=True, verbosity=0)
    data = json.loads(manifest.read_text())
    data[SOURCES_KEY] = digest
    manifest.write_text(json.dumps(data))
    return True


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lib.django_settings")
    import django

    django.setup()
    collected = static_collect()
    sys.stdout.write("static files collected\n" if collected else "static files up to date\n")


if __name__ == "__main__":
    main()
