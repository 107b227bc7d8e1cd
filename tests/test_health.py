"""GET /api/health: 200 with every service up, 503 naming the one that is down."""

from __future__ import annotations

import json

import pytest

import api.health
from tests.support import call, database_url_of_this_test_run, run_python

SERVICES = {"database", "kv", "documents", "storage"}
CLOSED_PORT = "127.0.0.1:9"  # discard port: nothing listens there


@pytest.mark.django_db
def test_health_is_200_when_every_service_is_up():
    response = call(api.health.app, "GET", "/api/health")
    body = response.json()
    assert response.status == 200, body
    assert body["status"] == "ok"
    assert set(body["services"]) == SERVICES
    for name, service in body["services"].items():
        assert service["up"] is True, name
        assert 0 <= service["latency_ms"] < 3000, name
    assert response.headers["cache-control"] == "no-store"


def health_in_fresh_process(**overrides: str) -> tuple[int, dict]:
    """Run the health function in its own process with some services pointed at nothing."""
    script = (
        "import json, api.health\n"
        "from tests.support import call\n"
        "r = call(api.health.app, 'GET', '/api/health')\n"
        "print(json.dumps({'status': r.status, 'body': r.json()}))\n"
    )
    env = {
        "DATABASE_URL": database_url_of_this_test_run(),
        "MONGODB_TIMEOUT_MS": "500",
        "DATABASE_POOL_TIMEOUT": "1",
        **overrides,
    }
    result = run_python(script, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome["status"], outcome["body"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("service", "overrides"),
    [
        (
            "kv",
            {"UPSTASH_REDIS_REST_URL": f"http://{CLOSED_PORT}", "UPSTASH_REDIS_REST_TOKEN": "x"},
        ),
        ("documents", {"MONGODB_URI": f"mongodb://{CLOSED_PORT}/"}),
        ("database", {"DATABASE_URL": f"postgres://postgres@{CLOSED_PORT}/zest"}),
        ("storage", {"VERCEL_BLOB_API_URL": f"http://{CLOSED_PORT}/api/blob"}),
    ],
)
def test_health_is_503_and_names_the_service_that_is_down(service, overrides):
    status, body = health_in_fresh_process(**overrides)
    assert status == 503
    assert body["status"] == "degraded"
    assert body["services"][service]["up"] is False
    assert body["services"][service]["error"]
    others = {name for name, s in body["services"].items() if s["up"]}
    assert others == SERVICES - {service}
