"""Configuration decides the behaviour: pooler mode, production guards, Sentry reporting."""

from __future__ import annotations

import gzip
import json
import socket
import threading

import pytest

from devtools.wsgi_server import server_url, start_server
from tests.support import database_url_of_this_test_run, run_python

PRINT_DATABASE = (
    "import json, lib.runtime\n"
    "from django.conf import settings\n"
    "db = settings.DATABASES['default']\n"
    "print(json.dumps({'cursors_off': db.get('DISABLE_SERVER_SIDE_CURSORS', False),"
    " 'options': db.get('OPTIONS', {}), 'age': db['CONN_MAX_AGE']}))\n"
)
POSTGRES = "postgres://zest@db.example.internal:6543/zest"


def database_settings(**env: str) -> dict:
    result = run_python(PRINT_DATABASE, env={"DATABASE_URL": POSTGRES, **env})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgres_is_pooled_with_a_small_pool_per_instance():
    db = database_settings()
    assert db["options"]["pool"] == {"min_size": 0, "max_size": 4, "timeout": 10.0}
    assert db["age"] == 0  # psycopg's pool requires persistent connections off
    assert db["cursors_off"] is False


def test_transaction_mode_pooler_turns_server_side_cursors_off():
    db = database_settings(DATABASE_TRANSACTION_POOLER="1", DATABASE_POOL_MAX="2")
    assert db["cursors_off"] is True
    assert db["options"]["pool"]["max_size"] == 2


def test_production_refuses_to_start_with_the_development_secret_key():
    result = run_python("import lib.runtime", env={"VERCEL_ENV": "production", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr
    ok = run_python("import lib.runtime", env={"VERCEL_ENV": "production", "SECRET_KEY": "x" * 50})
    assert ok.returncode == 0, ok.stderr[-2000:]


SETTINGS_AFTER_IMPORT = (
    "import json, os\n"
    "import devtools.payment_sims.local, lib.payments.bkash\n"  # what `zest dev` imports first
    "os.environ['BKASH_BASE_URL'] = 'http://127.0.0.1:9/sandbox'\n"
    "os.environ['PAYMENT_PUBLIC_BASE_URL'] = 'http://127.0.0.1:9100'\n"
    "from lib.conf import config, payment_config\n"
    "first = [lib.payments.bkash.gateway().base_url, payment_config.public_base_url,"
    " config.cron_secret]\n"
    "os.environ['BKASH_BASE_URL'] = 'http://127.0.0.1:9/changed'\n"
    "os.environ['CRON_SECRET'] = 'changed'\n"
    "print(json.dumps([first, [lib.payments.bkash.gateway().base_url, config.cron_secret]]))\n"
)


def test_settings_are_read_on_first_use_then_kept():
    """The dev server starts the payment simulators (importing the adapters and lib.conf)
    before it knows their addresses: what it sets before the settings are first used applies;
    after that the process keeps what it read."""
    result = run_python(
        SETTINGS_AFTER_IMPORT,
        env={"BKASH_BASE_URL": "", "PAYMENT_PUBLIC_BASE_URL": "", "CRON_SECRET": "at-start"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    first, later = json.loads(result.stdout.strip().splitlines()[-1])

    assert first == [
        "http://127.0.0.1:9/sandbox/tokenized/checkout/",
        "http://127.0.0.1:9100",
        "at-start",
    ]
    assert later == ["http://127.0.0.1:9/sandbox/tokenized/checkout/", "at-start"]


class SentryIngest:
    """Sentry's envelope endpoint (`POST /api/<project>/envelope/`), recording what arrives."""

    def __init__(self) -> None:
        self.envelopes: list[list[dict]] = []
        self.arrived = threading.Event()

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if environ.get("HTTP_CONTENT_ENCODING") == "gzip":
            body = gzip.decompress(body)
        if environ["PATH_INFO"] == "/api/42/envelope/":
            lines = [line for line in body.split(b"\n") if line.strip()]
            self.envelopes.append([json.loads(line) for line in lines])
            self.arrived.set()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]


@pytest.fixture
def sentry():
    ingest = SentryIngest()
    server, _thread = start_server(ingest, "127.0.0.1", 0, name="sentry-ingest")
    ingest.dsn = f"{server_url(server).replace('http://', 'http://public@')}/42"
    yield ingest
    server.shutdown()
    server.server_close()


FAILING_FUNCTION = (
    "from lib.runtime import make_app\n"
    "from ninja import Router\n"
    "from lib.access.api_keys import api_key_create\n"
    "from tests.support import call\n"
    "router = Router()\n"
    "@router.get('/boom')\n"
    "def boom(request):\n"
    "    raise RuntimeError('kaput-for-sentry')\n"
    "app = make_app('probe', [('', router)], title='probe')\n"
    "key, secret = api_key_create(name='probe', kind='secret', scopes=['storefront:read'])\n"
    "headers = {'X-Request-ID': 'trace-42', 'X-API-Key': key.key_id, 'X-API-Secret': secret}\n"
    "response = call(app, 'GET', '/api/v1/boom', headers=headers)\n"
    "print(response.status, response.json()['error']['code'])\n"
)


@pytest.mark.django_db(transaction=True)
def test_unhandled_errors_reach_sentry_when_a_dsn_is_set(sentry):
    env = {"SENTRY_DSN": sentry.dsn, "DATABASE_URL": database_url_of_this_test_run()}
    result = run_python(FAILING_FUNCTION, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["500", "internal_error"]
    assert sentry.arrived.wait(10)
    events = [item for envelope in sentry.envelopes for item in envelope if "exception" in item]
    assert events, sentry.envelopes
    exception = events[0]["exception"]["values"][-1]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "kaput-for-sentry")
    assert events[0]["tags"]["request_id"] == "trace-42"


@pytest.mark.django_db(transaction=True)
def test_sentry_is_off_without_a_dsn(sentry):
    result = run_python(
        FAILING_FUNCTION + "import sentry_sdk\nprint(sentry_sdk.is_initialized())\n",
        env={"SENTRY_DSN": "", "DATABASE_URL": database_url_of_this_test_run()},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["500", "internal_error", "False"]
    assert sentry.envelopes == []


@pytest.fixture
def hanging_server():
    """Accepts connections and never answers, like a stalled endpoint."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_hung_kv_endpoint_fails_fast_instead_of_hanging_the_request(hanging_server):
    script = (
        "import time, lib.kv\n"
        "started = time.perf_counter()\n"
        "try:\n"
        "    lib.kv.kv_ping()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, round(time.perf_counter() - started, 1))\n"
    )
    env = {
        "UPSTASH_REDIS_REST_URL": hanging_server,
        "UPSTASH_REDIS_REST_TOKEN": "t",
        "KV_TIMEOUT_SECONDS": "0.5",
    }
    result = run_python(script, env=env, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    error, seconds = result.stdout.split()
    assert "Timeout" in error
    assert float(seconds) < 3  # two attempts of 0.5 s (one retry), not forever
