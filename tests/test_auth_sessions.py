"""Sessions in the KV store: start, rotation, reuse detection, races, sign-out, expiry."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection

from db.models import User
from lib.access.sessions import (
    ROTATION_GRACE_MS,
    TokenPair,
    previous_refresh_key,
    secret_hash,
    session_end,
    session_key,
    session_refresh,
    session_start,
    sessions_end_all,
    user_sessions_key,
)
from lib.access.tokens import access_token_verify
from lib.conf import config
from lib.errors import ApiError

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return User.objects.create_user(f"{uuid.uuid4().hex[:10]}@example.com", None)


def start(user: User) -> TokenPair:
    return session_start(user=user, ip="203.0.113.7", user_agent="pytest")


def sid_of(pair: TokenPair) -> str:
    return access_token_verify(pair.access_token).session_id


def refresh_error(refresh_token: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        session_refresh(refresh_token=refresh_token)
    return caught.value


def grace_over(kv, session_id: str) -> None:
    """Let the rotation grace of a session run out (through the KV, as time would)."""
    kv.delete(previous_refresh_key(session_id))


def test_start_stores_only_the_hash_of_the_refresh_secret(kv, user):
    pair = start(user)

    session_id, secret = pair.refresh_token.split(".")
    stored = kv.hgetall(session_key(session_id))
    assert session_id == sid_of(pair)
    assert pair.token_type == "Bearer" and pair.expires_in == config.jwt_access_ttl
    assert stored["user_id"] == str(user.pk)
    assert stored["refresh_hash"] == secret_hash(secret)
    assert secret not in stored.values()
    assert stored["ip"] == "203.0.113.7" and stored["user_agent"] == "pytest"
    assert config.refresh_ttl - 5 <= kv.ttl(session_key(session_id)) <= config.refresh_ttl
    assert kv.zrange(user_sessions_key(str(user.pk)), 0, -1) == [session_id]


def test_refresh_rotates_the_refresh_token_and_keeps_the_session(kv, user):
    first = start(user)

    second = session_refresh(refresh_token=first.refresh_token)
    third = session_refresh(refresh_token=second.refresh_token)

    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert sid_of(first) == sid_of(second) == sid_of(third)
    assert kv.exists(session_key(sid_of(third))) == 1


def test_replayed_refresh_token_ends_the_whole_session(kv, user):
    first = start(user)
    second = session_refresh(refresh_token=first.refresh_token)
    third = session_refresh(refresh_token=second.refresh_token)
    grace_over(kv, sid_of(first))

    replay = refresh_error(first.refresh_token)

    assert (replay.status_code, replay.code) == (401, "refresh_token_reused")
    assert kv.exists(session_key(sid_of(first))) == 0
    assert kv.zrange(user_sessions_key(str(user.pk)), 0, -1) == []
    # The newest token of the family dies with it, whoever holds it.
    assert refresh_error(third.refresh_token).code == "refresh_token_invalid"


def test_token_rotated_a_moment_ago_is_in_progress_not_reuse(kv, user):
    first = start(user)
    second = session_refresh(refresh_token=first.refresh_token)

    racing = refresh_error(first.refresh_token)

    assert (racing.status_code, racing.code) == (409, "refresh_in_progress")
    assert 0 < kv.pttl(previous_refresh_key(sid_of(first))) <= ROTATION_GRACE_MS
    assert session_refresh(refresh_token=second.refresh_token).refresh_token


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_have_exactly_one_winner(kv, user):
    pair = start(user)
    contenders = 8
    barrier = threading.Barrier(contenders)
    winners: list[TokenPair] = []
    losers: list[ApiError] = []

    def contend() -> None:
        barrier.wait()
        try:
            winners.append(session_refresh(refresh_token=pair.refresh_token))
        except ApiError as exc:
            losers.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(winners) == 1
    assert [loser.code for loser in losers] == ["refresh_in_progress"] * (contenders - 1)
    # The session survived the race and the winner's token goes on working.
    assert session_refresh(refresh_token=winners[0].refresh_token).refresh_token


@pytest.mark.parametrize(
    "token",
    ["", "no-dot", f"{'0' * 32}.short", f"{'z' * 32}.{'s' * 43}", f"{'a' * 31}.{'s' * 43}"],
    ids=["empty", "no-dot", "short-secret", "bad-sid", "short-sid"],
)
def test_malformed_refresh_token_is_invalid(kv, token):
    assert refresh_error(token).code == "refresh_token_invalid"


def test_refresh_token_of_unknown_session_is_invalid(kv):
    error = refresh_error(f"{uuid.uuid4().hex}.{'s' * 43}")
    assert (error.status_code, error.code) == (401, "refresh_token_invalid")


def test_session_end_revokes_at_once(kv, user):
    pair = start(user)
    session_id = sid_of(pair)

    assert session_end(session_id=session_id) is True

    assert kv.exists(session_key(session_id)) == 0
    assert kv.zrange(user_sessions_key(str(user.pk)), 0, -1) == []
    assert refresh_error(pair.refresh_token).code == "refresh_token_invalid"
    assert session_end(session_id=session_id) is False


def test_sessions_end_all_keeps_only_the_session_asked_for(kv, user):
    keep, other, third = start(user), start(user), start(user)
    bystander = start(User.objects.create_user("bystander@example.com", None))

    ended = sessions_end_all(user_id=str(user.pk), keep_session_id=sid_of(keep))

    assert ended == 2
    assert kv.exists(session_key(sid_of(keep))) == 1
    assert kv.exists(session_key(sid_of(other)), session_key(sid_of(third))) == 0
    assert kv.exists(session_key(sid_of(bystander))) == 1
    assert sessions_end_all(user_id=str(user.pk)) == 1
    assert kv.exists(session_key(sid_of(keep))) == 0


def test_expired_session_cannot_be_refreshed(kv, user):
    pair = start(user)
    kv.pexpire(session_key(sid_of(pair)), 20)
    time.sleep(0.1)

    assert refresh_error(pair.refresh_token).code == "refresh_token_invalid"


def test_disabled_user_cannot_refresh_and_loses_the_session(kv, user):
    pair = start(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert refresh_error(pair.refresh_token).code == "refresh_token_invalid"
    assert kv.exists(session_key(sid_of(pair))) == 0


def test_sign_in_prunes_expired_sessions_from_the_user_index(kv, user):
    index = user_sessions_key(str(user.pk))
    kv.zadd(index, {"f" * 32: time.time() - 10})

    pair = start(user)

    assert kv.zrange(index, 0, -1) == [sid_of(pair)]
