"""The local Upstash bridge, driven by the real `upstash_redis` and `upstash_ratelimit` clients.

Most tests run against real Redis (database 13 of `REDIS_URL`, default 127.0.0.1:6379); the
`any_bridge` ones run against the embedded fakeredis store too. Every test works in its own key
namespace and deletes it afterwards, so parallel runs sharing the database do not collide.
No Django and no database here.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from upstash_ratelimit import FixedWindow, Ratelimit, SlidingWindow, TokenBucket
from upstash_redis import Redis
from upstash_redis.errors import UpstashError

from devtools.upstash_bridge import BridgeServer, start_bridge

TOKEN = "bridge-test-token"
REDIS_DB = 13
DAY = 86_400  # windows this long cannot roll over in the middle of a test (in practice)
RATELIMIT_SHEBANG = "#!lua flags=allow-key-locking\n"


def redis_test_url() -> str:
    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return base._replace(path=f"/{REDIS_DB}", query="").geturl()


@pytest.fixture(scope="module")
def redis_bridge() -> Iterator[BridgeServer]:
    bridge = start_bridge(redis_url=redis_test_url(), token=TOKEN)
    try:
        yield bridge
    finally:
        bridge.stop()


@pytest.fixture(scope="module")
def fake_bridge() -> Iterator[BridgeServer]:
    bridge = start_bridge(redis_url=None, token=TOKEN)
    try:
        yield bridge
    finally:
        bridge.stop()


@pytest.fixture(params=["redis", "fakeredis"])
def any_bridge(request: pytest.FixtureRequest) -> BridgeServer:
    return request.getfixturevalue(f"{'fake' if request.param == 'fakeredis' else 'redis'}_bridge")


def client_for(bridge: BridgeServer, token: str = TOKEN) -> Redis:
    return Redis(
        bridge.url,
        token,
        rest_retries=0,
        rest_retry_interval=0.05,
        allow_telemetry=False,
    )


@pytest.fixture
def ns() -> str:
    """A key prefix unique to this test."""
    return f"bridge-test:{uuid.uuid4().hex}:"


def _cleanup(client: Redis, ns: str) -> None:
    keys = client.keys(f"{ns}*")
    if keys:
        client.delete(*keys)


@pytest.fixture
def real_kv(redis_bridge: BridgeServer, ns: str) -> Iterator[Redis]:
    client = client_for(redis_bridge)
    yield client
    _cleanup(client, ns)
    client.close()


@pytest.fixture
def any_kv(any_bridge: BridgeServer, ns: str) -> Iterator[Redis]:
    client = client_for(any_bridge)
    yield client
    _cleanup(client, ns)
    client.close()


def raw_request(
    bridge: BridgeServer,
    path: str,
    body: bytes | None,
    *,
    method: str = "POST",
    token: str = TOKEN,
    base64_encoding: bool = False,
) -> tuple[int, str, Any]:
    """Status, content type and decoded JSON of one request, errors included."""
    headers = {"Authorization": f"Bearer {token}"}
    if base64_encoding:
        headers["Upstash-Encoding"] = "base64"
    if body is not None:
        headers["Content-Type"] = "application/json"
    url = bridge.url + path
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - local URL
            return response.status, response.headers["Content-Type"], json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["Content-Type"], json.loads(exc.read())


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# ---- strings, counters, expiry -------------------------------------------------------------


def test_set_get_with_ex_and_nx(any_kv: Redis, ns: str) -> None:
    key = f"{ns}greeting"
    assert any_kv.get(key) is None
    assert any_kv.set(key, "hello", ex=100) is True
    assert any_kv.get(key) == "hello"
    assert 90 <= any_kv.ttl(key) <= 100
    assert any_kv.set(key, "replaced", nx=True) is False
    assert any_kv.get(key) == "hello"
    assert any_kv.set(f"{ns}fresh", "new", nx=True) is True
    assert any_kv.get(f"{ns}fresh") == "new"


def test_incr_family(real_kv: Redis, ns: str) -> None:
    key = f"{ns}counter"
    assert real_kv.incr(key) == 1
    assert real_kv.incr(key) == 2
    assert real_kv.incrby(key, 5) == 7
    assert real_kv.decr(key) == 6
    assert real_kv.incrbyfloat(f"{ns}float", 1.5) == 1.5
    assert real_kv.incrbyfloat(f"{ns}float", 1.25) == 2.75
    assert real_kv.get(f"{ns}float") == "2.75"


def test_expire_and_ttl(real_kv: Redis, ns: str) -> None:
    key = f"{ns}session"
    assert real_kv.ttl(key) == -2
    real_kv.set(key, "v")
    assert real_kv.ttl(key) == -1
    assert real_kv.expire(key, 50) is True
    assert 40 <= real_kv.ttl(key) <= 50
    assert real_kv.persist(key) is True
    assert real_kv.ttl(key) == -1
    assert real_kv.expire(f"{ns}missing", 50) is False


def test_error_reply_raises_with_redis_code(real_kv: Redis, ns: str) -> None:
    real_kv.set(f"{ns}text", "abc")
    with pytest.raises(UpstashError, match=r"^ERR value is not an integer"):
        real_kv.incr(f"{ns}text")
    with pytest.raises(UpstashError, match=r"^WRONGTYPE"):
        real_kv.lpush(f"{ns}text", "x")


# ---- hashes, lists, sets --------------------------------------------------------------------


def test_hash_commands(any_kv: Redis, ns: str) -> None:
    key = f"{ns}cart"
    assert any_kv.hset(key, values={"sku-1": 2, "sku-2": "1"}) == 2
    assert any_kv.hset(key, "sku-1", 3) == 0
    assert any_kv.hgetall(key) == {"sku-1": "3", "sku-2": "1"}
    assert any_kv.hincrby(key, "sku-2", 4) == 5
    assert any_kv.hget(key, "sku-2") == "5"
    assert any_kv.hgetall(f"{ns}nothing") == {}


def test_list_commands(real_kv: Redis, ns: str) -> None:
    key = f"{ns}recent"
    assert real_kv.lpush(key, "a", "b", "c") == 3
    assert real_kv.lrange(key, 0, -1) == ["c", "b", "a"]
    assert real_kv.rpush(key, "z") == 4
    assert real_kv.lrange(key, 1, 2) == ["b", "a"]
    assert real_kv.llen(key) == 4


def test_set_commands(real_kv: Redis, ns: str) -> None:
    key = f"{ns}tags"
    assert real_kv.sadd(key, "rice", "lentils", "rice") == 2
    assert sorted(real_kv.smembers(key)) == ["lentils", "rice"]
    assert real_kv.sismember(key, "rice") is True
    assert real_kv.sismember(key, "oil") is False
    assert real_kv.srem(key, "rice") == 1
    assert real_kv.scard(key) == 1


# ---- batches ---------------------------------------------------------------------------------


def test_pipeline(any_kv: Redis, ns: str) -> None:
    pipe = any_kv.pipeline()
    pipe.set(f"{ns}a", "1")
    pipe.incr(f"{ns}a")
    pipe.get(f"{ns}a")
    pipe.hset(f"{ns}h", "f", "v")
    pipe.hgetall(f"{ns}h")
    pipe.get(f"{ns}missing")
    assert pipe.exec() == [True, 2, "2", 1, {"f": "v"}, None]
    assert any_kv.pipeline().exec() == []


def test_transaction(any_kv: Redis, ns: str) -> None:
    tx = any_kv.multi()
    tx.set(f"{ns}stock", 10)
    tx.decrby(f"{ns}stock", 3)
    tx.lpush(f"{ns}log", "reserved")
    tx.get(f"{ns}stock")
    assert tx.exec() == [True, 7, 1, "7"]
    assert any_kv.lrange(f"{ns}log", 0, -1) == ["reserved"]


def test_transaction_runtime_error_keeps_other_commands(real_kv: Redis, ns: str) -> None:
    real_kv.set(f"{ns}text", "abc")
    tx = real_kv.multi()
    tx.set(f"{ns}before", "1")
    tx.lpush(f"{ns}text", "x")  # WRONGTYPE at run time; Redis still runs the rest
    tx.set(f"{ns}after", "2")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        tx.exec()
    assert real_kv.get(f"{ns}before") == "1"
    assert real_kv.get(f"{ns}after") == "2"


@pytest.mark.usefixtures("real_kv")  # deletes the namespace afterwards
def test_transaction_queue_error_runs_nothing(redis_bridge: BridgeServer, ns: str) -> None:
    body = json.dumps([["SET", f"{ns}never", "1"], ["NOSUCHCOMMAND", "x"]]).encode()
    status, _, payload = raw_request(redis_bridge, "/multi-exec", body)
    assert status == 400
    assert payload["error"].startswith("EXECABORT")
    assert "unknown command" in payload["error"]
    status, _, payload = raw_request(redis_bridge, "/", json.dumps(["GET", f"{ns}never"]).encode())
    assert (status, payload) == (200, {"result": None})


@pytest.mark.usefixtures("real_kv")  # deletes the namespace afterwards
def test_pipeline_reports_each_error(redis_bridge: BridgeServer, ns: str) -> None:
    commands = [
        ["SET", f"{ns}k", "v"],
        ["INCR", f"{ns}k"],
        ["GET", f"{ns}k"],
        ["EXISTS", f"{ns}k", f"{ns}none"],
    ]
    status, _, payload = raw_request(redis_bridge, "/pipeline", json.dumps(commands).encode())
    assert status == 200
    assert payload == [
        {"result": "OK"},
        {"error": "ERR value is not an integer or out of range"},
        {"result": "v"},
        {"result": 1},
    ]


# ---- Lua -------------------------------------------------------------------------------------


def test_eval_with_keys_and_args(any_kv: Redis, ns: str) -> None:
    script = """
    local total = redis.call("INCRBY", KEYS[1], ARGV[1])
    redis.call("HSET", KEYS[2], "last", ARGV[2])
    return {total, redis.call("HGET", KEYS[2], "last"), KEYS[2]}
    """
    keys = [f"{ns}total", f"{ns}meta"]
    assert any_kv.eval(script, keys, [5, "চাল"]) == [5, "চাল", f"{ns}meta"]
    assert any_kv.eval(script, keys, [2, "ডাল"]) == [7, "ডাল", f"{ns}meta"]
    assert any_kv.eval("return ARGV[1] .. '!'", args=["hi"]) == "hi!"


def test_eval_strips_the_ratelimit_shebang(any_kv: Redis, ns: str) -> None:
    script = RATELIMIT_SHEBANG + "return redis.call('INCRBY', KEYS[1], ARGV[1])"
    assert any_kv.eval(script, [f"{ns}n"], [4]) == 4
    assert any_kv.eval(script, [f"{ns}n"], [4]) == 8


def test_lua_error_line_numbers_survive_the_shebang(real_kv: Redis) -> None:
    with pytest.raises(UpstashError, match=r"user_script:3\b"):
        real_kv.eval(RATELIMIT_SHEBANG + "local a = 1\nreturn redis.call('NOSUCHCOMMAND')")


def test_script_load_and_evalsha(any_kv: Redis, ns: str) -> None:
    sha = any_kv.script_load("return redis.call('SET', KEYS[1], ARGV[1])")
    assert len(sha) == 40
    assert any_kv.script_exists(sha) == [True]
    assert any_kv.evalsha(sha, [f"{ns}k"], ["v1"]) == "OK"
    assert any_kv.get(f"{ns}k") == "v1"
    with pytest.raises(UpstashError, match=r"^NOSCRIPT"):
        any_kv.evalsha("0" * 40, [f"{ns}k"], ["v2"])


def test_script_load_accepts_the_shebang(real_kv: Redis) -> None:
    sha = real_kv.script_load(RATELIMIT_SHEBANG + "return ARGV[1] + 1")
    assert real_kv.evalsha(sha, args=[41]) == 42


# ---- rate limiting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limiter",
    [
        FixedWindow(max_requests=3, window=DAY),
        SlidingWindow(max_requests=3, window=DAY),
        TokenBucket(max_tokens=3, refill_rate=1, interval=DAY),
    ],
    ids=["fixed", "sliding", "token-bucket"],
)
def test_ratelimit_allows_n_then_refuses(any_kv: Redis, ns: str, limiter: Any) -> None:
    ratelimit = Ratelimit(any_kv, limiter, prefix=f"{ns}rl")
    responses = [ratelimit.limit("203.0.113.7") for _ in range(5)]
    assert [r.allowed for r in responses] == [True, True, True, False, False]
    assert [r.remaining for r in responses] == [2, 1, 0, 0, 0]
    assert all(r.limit == 3 for r in responses)
    assert ratelimit.limit("198.51.100.1").allowed  # another identifier has its own budget
    assert ratelimit.get_remaining("198.51.100.1") == 2


# ---- protocol edges --------------------------------------------------------------------------


def test_wrong_token_is_refused(any_bridge: BridgeServer) -> None:
    client = client_for(any_bridge, token="not-the-token")
    with pytest.raises(UpstashError, match="Unauthorized"):
        client.get("anything")
    status, _, payload = raw_request(any_bridge, "/", b'["PING"]', token="nope")
    assert (status, payload) == (401, {"error": "Unauthorized"})


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/", b"{not json"),
        ("/", b'{"command": "GET"}'),
        ("/", b"[]"),
        ("/", b'[["GET", "k"]]'),
        ("/pipeline", b'["GET", "k"]'),
        ("/multi-exec", b"nope"),
        ("/pipeline", b'[["GET", "k"], "GET"]'),
    ],
)
def test_malformed_body_is_a_400_json_error(
    any_bridge: BridgeServer, path: str, body: bytes
) -> None:
    status, content_type, payload = raw_request(any_bridge, path, body)
    assert status == 400
    assert content_type == "application/json"
    assert set(payload) == {"error"}
    assert payload["error"].startswith("ERR ")


def test_unknown_and_connection_commands_are_errors(redis_bridge: BridgeServer) -> None:
    status, _, payload = raw_request(redis_bridge, "/", b'["NOSUCHCOMMAND", "x"]')
    assert status == 400
    assert payload["error"].startswith("ERR unknown command")
    status, _, payload = raw_request(redis_bridge, "/", b'["SELECT", 0]')
    assert (status, payload) == (400, {"error": "ERR Command is not available: 'select'"})


def test_unicode_round_trips(any_kv: Redis, ns: str) -> None:
    key = f"{ns}পণ্য:চাল"
    assert any_kv.set(key, "চাল ৫ কেজি — ৳ 350") is True
    assert any_kv.get(key) == "চাল ৫ কেজি — ৳ 350"
    any_kv.hset(f"{ns}নাম", "ডাল", "মসুর")
    assert any_kv.hgetall(f"{ns}নাম") == {"ডাল": "মসুর"}
    any_kv.rpush(f"{ns}তালিকা", "চাল", "ডাল")
    assert any_kv.lrange(f"{ns}তালিকা", 0, -1) == ["চাল", "ডাল"]
    assert key in any_kv.keys(f"{ns}পণ্য:*")


@pytest.mark.usefixtures("real_kv")  # deletes the namespace afterwards
def test_base64_encoding_on_the_wire(redis_bridge: BridgeServer, ns: str) -> None:
    key = f"{ns}raw"
    send = json.dumps(["SET", key, "চাল"]).encode()
    assert raw_request(redis_bridge, "/", send, base64_encoding=True)[2] == {"result": "OK"}
    get = json.dumps(["GET", key]).encode()
    assert raw_request(redis_bridge, "/", get, base64_encoding=True)[2] == {"result": b64("চাল")}
    assert raw_request(redis_bridge, "/", get)[2] == {"result": "চাল"}
    ping = raw_request(redis_bridge, "/", b'["PING"]', base64_encoding=True)[2]
    assert ping == {"result": b64("PONG")}
    nested = json.dumps(["EVAL", "return {1, 'OK', 'x', false}", 0]).encode()
    assert raw_request(redis_bridge, "/", nested, base64_encoding=True)[2] == {
        "result": [1, "OK", b64("x"), None]
    }


def test_json_numbers_are_sent_as_text(redis_bridge: BridgeServer, real_kv: Redis, ns: str) -> None:
    key = f"{ns}num"
    body = json.dumps(["SET", key, 12.5, "EX", 100]).encode()
    assert raw_request(redis_bridge, "/", body)[2] == {"result": "OK"}
    assert real_kv.get(key) == "12.5"
    assert 90 <= real_kv.ttl(key) <= 100
    body = json.dumps(["INCRBY", f"{ns}count", 3]).encode()
    assert raw_request(redis_bridge, "/", body)[2] == {"result": 3}


@pytest.mark.usefixtures("any_kv")  # deletes the namespace afterwards
def test_path_style_commands(any_bridge: BridgeServer, ns: str) -> None:
    key = quote(f"{ns}path/চাল", safe="")  # an encoded "/" stays inside the key
    assert raw_request(any_bridge, f"/set/{key}/first", None, method="GET")[2] == {"result": "OK"}
    assert raw_request(any_bridge, f"/get/{key}", None, method="GET")[2] == {"result": "first"}
    status, _, payload = raw_request(any_bridge, f"/set/{key}", "দ্বিতীয়".encode())
    assert (status, payload) == (200, {"result": "OK"})
    assert raw_request(any_bridge, f"/get/{key}", None, method="GET")[2] == {"result": "দ্বিতীয়"}
    assert raw_request(any_bridge, f"/del/{key}", None, method="GET")[2] == {"result": 1}


def test_concurrent_clients(any_bridge: BridgeServer, any_kv: Redis, ns: str) -> None:
    key = f"{ns}hits"

    def hammer() -> None:
        client = client_for(any_bridge)
        for _ in range(25):
            client.incr(key)
        client.close()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert any_kv.get(key) == "200"
