"""The local API keys `zest dev` prints: a publishable storefront key and a secret server key.

A secret is stored only as a hash, so the demo secret is kept beside the local database
(`<data dir>/demo-keys.json`, never committed, never deployed) to be printed on every start.
If that file is lost, the server key gets a new secret by rotation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from db.models import ApiKey, ApiKeyKind
from lib.access.api_keys import SCOPES, STOREFRONT_SCOPES, api_key_create, api_key_rotate

STOREFRONT_KEY_NAME = "Demo storefront"
SERVER_KEY_NAME = "Demo server"
LOCAL_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")


@dataclass(frozen=True, slots=True)
class DemoKeys:
    storefront_key: str
    server_key: str
    server_secret: str


def demo_keys_ensure(*, data_dir: Path, dev_origin: str) -> DemoKeys:
    """Create the demo keys once; afterwards read them back (or re-issue a lost secret)."""
    file = data_dir / "demo-keys.json"
    saved = json.loads(file.read_text()) if file.exists() else {}
    storefront = ApiKey.objects.filter(name=STOREFRONT_KEY_NAME, revoked_at=None).first()
    if storefront is None:
        storefront, _ = api_key_create(
            name=STOREFRONT_KEY_NAME,
            kind=ApiKeyKind.PUBLISHABLE,
            scopes=sorted(STOREFRONT_SCOPES),
            allowed_origins=(*LOCAL_ORIGINS, dev_origin),
        )
    server = ApiKey.objects.filter(name=SERVER_KEY_NAME, revoked_at=None).first()
    secret = (
        saved.get("server_secret") if server and saved.get("server_key") == server.key_id else None
    )
    if server is None:
        server, secret = api_key_create(
            name=SERVER_KEY_NAME, kind=ApiKeyKind.SECRET, scopes=sorted(SCOPES)
        )
    elif secret is None:
        secret = api_key_rotate(api_key=server, overlap_seconds=0)
    keys = DemoKeys(storefront.key_id, server.key_id, secret)
    file.write_text(json.dumps(asdict(keys), indent=2))
    file.chmod(0o600)
    return keys
