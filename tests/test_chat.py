"""Live chat: shoppers (signed in or guests) and the support team, through the HTTP API."""

from __future__ import annotations

import uuid

import pytest

import api.chat
import api.chat_staff
from db.models import ChatMessage, Conversation
from lib import conf
from lib.chat.poll import poll_key, poll_state_get
from lib.chat.selectors import chat_queue_summary
from lib.chat.services import conversation_open
from tests.payment_shop import order_place, shop_product, signed_in
from tests.support import call, multipart, statuses_in_parallel

pytestmark = pytest.mark.django_db


def chat(method: str, url: str, headers: dict[str, str], **kwargs):
    return call(api.chat.app, method, f"/api/v1/chat{url}", headers=headers, **kwargs)


def staff_call(method: str, url: str, headers: dict[str, str], **kwargs):
    return call(api.chat_staff.app, method, f"/api/v1/admin/chat{url}", headers=headers, **kwargs)


def opened(headers: dict[str, str], message: str = "Where is my parcel?", **fields) -> dict:
    reply = chat("POST", "/conversations", headers, json_body={"message": message, **fields})
    assert reply.status == 201, reply.body
    return reply.json()


@pytest.fixture
def customer(kv, server_key):
    return signed_in(server_key, "customer")


@pytest.fixture
def support(kv, server_key):
    return signed_in(server_key, "support")


@pytest.fixture
def guest(kv, server_key) -> dict[str, str]:
    """A guest's headers once their first conversation gave them a token."""
    body = opened(server_key, "Do you deliver to Sylhet?")
    return {**server_key, "X-Chat-Token": body["guest_token"]}


# --- opening -----------------------------------------------------------------------------


def test_a_signed_in_shopper_opens_a_conversation_with_a_first_message(customer):
    user, headers = customer
    body = opened(headers, "  <b>Hello</b> <script>alert(1)</script>there  ", subject="Order")
    assert body["guest_token"] is None
    conversation = body["conversation"]
    assert conversation["status"] == "open" and conversation["source"] == "customer"
    assert conversation["subject"] == "Order" and conversation["assigned"] is False
    [message] = body["messages"]
    assert message["body"] == "Hello there"  # markup and script removed, text kept
    assert message["sender"] == "customer"
    row = Conversation.objects.get(pk=conversation["id"])
    assert row.user_id == user.pk and row.guest_token_hash == "" and row.staff_unread == 1


def test_a_guest_gets_a_token_stored_only_as_its_hash(kv, server_key):
    reply = chat("POST", "/conversations", server_key, json_body={"message": "Hi"})
    assert reply.status == 201
    token = reply.json()["guest_token"]
    assert token and reply.headers["x-chat-token"] == token
    row = Conversation.objects.get(pk=reply.json()["conversation"]["id"])
    assert row.user_id is None and token not in row.guest_token_hash
    assert len(row.guest_token_hash) == 64
    again = chat(
        "POST",
        "/conversations",
        {**server_key, "X-Chat-Token": token},
        json_body={"message": "Another question"},
    )
    assert again.json()["guest_token"] == token
    listed = chat("GET", "/conversations", {**server_key, "X-Chat-Token": token})
    assert listed.json()["count"] == 2


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"message": ""}, 422, "validation_error"),
        ({"message": "<p></p>"}, 422, "chat_message_empty"),
        ({"message": "x" * 9000}, 422, "validation_error"),
        ({"message": "hi", "admin": True}, 422, "validation_error"),
        ({"message": "hi", "order_number": "ZS-NOPE"}, 404, "not_found"),
    ],
)
def test_bad_opens_are_refused_and_write_nothing(customer, payload, status, code):
    reply = chat("POST", "/conversations", customer[1], json_body=payload)
    assert (reply.status, reply.json()["error"]["code"]) == (status, code)
    assert not Conversation.objects.exists()


def test_a_malformed_guest_token_is_a_400(kv, server_key):
    reply = chat("GET", "/conversations", {**server_key, "X-Chat-Token": "short"})
    assert (reply.status, reply.json()["error"]["code"]) == (400, "chat_token_invalid")
    assert chat("GET", "/conversations", server_key).status == 401


def test_an_order_is_attached_only_for_its_owner(customer, server_key):
    product = shop_product()
    _, headers = customer
    mine = order_place(product, headers, "cod", status="placed")
    _, other_headers = signed_in(server_key, "customer")
    theirs = order_place(product, other_headers, "cod", status="placed")
    body = opened(headers, order_number=mine.number)
    assert body["conversation"]["order_number"] == mine.number
    reply = chat(
        "POST",
        "/conversations",
        headers,
        json_body={"message": "hi", "order_number": theirs.number},
    )
    assert reply.status == 404
    # A guest names an order with the phone it was placed with, both right or nothing.
    guest_order = order_place(product, server_key, "cod", status="placed")
    wrong = chat(
        "POST",
        "/conversations",
        server_key,
        json_body={
            "message": "hi",
            "order_number": guest_order.number,
            "order_phone": "01900000000",
        },
    )
    assert wrong.status == 404
    right = opened(server_key, order_number=guest_order.number, order_phone="01812345678")
    assert right["conversation"]["order_number"] == guest_order.number


# --- isolation ---------------------------------------------------------------------------


def test_nobody_reads_or_writes_another_shoppers_conversation(customer, guest, server_key):
    _, headers = customer
    mine = opened(headers)["conversation"]["id"]
    _, stranger = signed_in(server_key, "customer")
    other_guest = {**server_key, "X-Chat-Token": "A" * 32}
    for intruder in (stranger, guest, other_guest):
        for method, url, body in (
            ("GET", f"/conversations/{mine}", None),
            ("GET", f"/conversations/{mine}/messages?since=0", None),
            ("POST", f"/conversations/{mine}/messages", {"body": "let me in"}),
            ("POST", f"/conversations/{mine}/read", None),
            ("POST", f"/conversations/{mine}/close", None),
        ):
            reply = chat(method, url, intruder, json_body=body)
            assert reply.status == 404, (method, url, reply.body)
    assert ChatMessage.objects.filter(conversation_id=mine).count() == 1
    assert Conversation.objects.get(pk=mine).status == "open"
    assert chat("GET", "/conversations", stranger).json()["count"] == 0


def test_a_guest_conversation_is_not_readable_by_a_signed_in_user(guest, customer):
    conversation = chat("GET", "/conversations", guest).json()["items"][0]["id"]
    reply = chat("GET", f"/conversations/{conversation}/messages", customer[1])
    assert reply.status == 404


# --- messages and polling --------------------------------------------------------------


def test_a_retried_message_is_posted_once(customer):
    _, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    url = f"/conversations/{conversation}/messages"
    first = chat("POST", url, {**headers, **key}, json_body={"body": "The parcel is late"})
    again = chat("POST", url, {**headers, **key}, json_body={"body": "The parcel is late"})
    assert (first.status, again.status) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    by_body = {"body": "Second", "client_message_id": "client-0001"}
    assert chat("POST", url, headers, json_body=by_body).status == 201
    assert chat("POST", url, headers, json_body=by_body).status == 200
    assert ChatMessage.objects.filter(conversation_id=conversation).count() == 3
    assert Conversation.objects.get(pk=conversation).staff_unread == 3


def test_concurrent_retries_of_one_message_post_it_once(transactional_db, kv, server_key):
    _, headers = signed_in(server_key, "customer")
    conversation = opened(headers)["conversation"]["id"]
    key = {**headers, "Idempotency-Key": "same-key-0001"}

    statuses = statuses_in_parallel(
        api.chat.app,
        "POST",
        f"/api/v1/chat/conversations/{conversation}/messages",
        [key] * 4,
        json_body={"body": "once"},
    )
    assert statuses == [200, 200, 200, 201]
    assert ChatMessage.objects.filter(conversation_id=conversation, body="once").count() == 1


def test_polling_returns_new_messages_after_the_cursor(customer, support):
    _, headers = customer
    body = opened(headers)
    conversation, cursor = body["conversation"]["id"], body["messages"][-1]["id"]
    poll = f"/conversations/{conversation}/messages?since={cursor}"
    assert chat("GET", poll, headers).json() == {"items": [], "cursor": cursor, "has_more": False}
    reply = staff_call(
        "POST",
        f"/conversations/{conversation}/messages",
        support[1],
        json_body={"body": "On its way!"},
    )
    assert reply.status == 201
    page = chat("GET", poll, headers).json()
    assert [m["body"] for m in page["items"]] == ["On its way!"]
    assert page["items"][0]["sender"] == "staff" and page["cursor"] == reply.json()["id"]
    limited = chat("GET", f"/conversations/{conversation}/messages?since=0&limit=1", headers)
    assert limited.json()["has_more"] is True and len(limited.json()["items"]) == 1


def test_an_unchanged_poll_reads_no_sql(customer, django_assert_num_queries):
    _, headers = customer
    body = opened(headers)
    conversation, cursor = body["conversation"]["id"], body["messages"][-1]["id"]
    poll = f"/conversations/{conversation}/messages?since={cursor}"
    with django_assert_num_queries(0):
        assert chat("GET", poll, headers).json()["items"] == []


def test_a_poll_with_news_reads_two_queries_and_refills_a_lost_kv_entry(
    customer, kv, django_assert_num_queries
):
    _, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    kv.delete(poll_key(conversation))
    with django_assert_num_queries(2):  # the conversation, its messages
        page = chat("GET", f"/conversations/{conversation}/messages?since=0", headers).json()
    assert len(page["items"]) == 1
    state = poll_state_get(conversation)
    assert state is not None and state.last_message_id == page["cursor"]


def test_an_unchanged_poll_by_someone_else_is_a_404_without_sql(
    customer, server_key, django_assert_num_queries
):
    conversation = opened(customer[1])["conversation"]["id"]
    _, stranger = signed_in(server_key, "customer")
    with django_assert_num_queries(0):
        reply = chat("GET", f"/conversations/{conversation}/messages?since=999999", stranger)
    assert reply.status == 404


def test_a_stale_lower_kv_id_never_hides_a_newer_message(customer):
    from lib.chat.poll import poll_state_bump

    _, headers = customer
    body = opened(headers)
    conversation, first = body["conversation"]["id"], body["messages"][-1]["id"]
    owner = poll_state_get(conversation).owner
    poll_state_bump(conversation_id=conversation, last_message_id=first - 1, owner=owner)
    assert poll_state_get(conversation).last_message_id == first  # raised only, never lowered


def test_the_message_list_costs_the_same_queries_for_many_conversations(
    customer, django_assert_num_queries
):
    _, headers = customer
    for n in range(3):
        opened(headers, f"question {n}")
    with django_assert_num_queries(2):  # count, page (orders joined)
        assert chat("GET", "/conversations", headers).json()["count"] == 3


def test_message_bodies_are_length_limited_and_cleaned(customer, monkeypatch):
    import dataclasses

    monkeypatch.setattr(
        conf, "chat_config", dataclasses.replace(conf.chat_config, message_max_chars=20)
    )
    monkeypatch.setattr("lib.chat.text.chat_config", conf.chat_config)
    _, headers = customer
    conversation = opened(headers, "short")["conversation"]["id"]
    url = f"/conversations/{conversation}/messages"
    long = chat("POST", url, headers, json_body={"body": "y" * 21})
    assert (long.status, long.json()["error"]["code"]) == (422, "chat_message_too_long")
    tags = chat("POST", url, headers, json_body={"body": "<img src=x onerror=alert(1)>"})
    assert (tags.status, tags.json()["error"]["code"]) == (422, "chat_message_empty")
    lines = chat("POST", url, headers, json_body={"body": "a &lt; b\n\n\n\nok"})
    assert lines.json()["body"] == "a < b\n\nok"


def test_messages_are_rate_limited_per_conversation(customer, monkeypatch):
    import dataclasses

    limited = dataclasses.replace(conf.chat_config, message_rate=conf.Rate(2, 60))
    monkeypatch.setattr("lib.chat.services.chat_config", limited)
    _, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    url = f"/conversations/{conversation}/messages"
    statuses = [chat("POST", url, headers, json_body={"body": f"m{n}"}).status for n in range(3)]
    assert statuses == [201, 201, 429]


# --- reading and closing -----------------------------------------------------------------


def test_read_and_close(customer, support):
    _, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    staff_call(
        "POST", f"/conversations/{conversation}/messages", support[1], json_body={"body": "Hello"}
    )
    detail = chat("GET", f"/conversations/{conversation}", headers).json()
    assert detail["unread"] == 1 and detail["assigned"] is True
    assert chat("POST", f"/conversations/{conversation}/read", headers).json()["unread"] == 0
    closed = chat("POST", f"/conversations/{conversation}/close", headers)
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert chat("POST", f"/conversations/{conversation}/close", headers).status == 200
    refused = chat(
        "POST",
        f"/conversations/{conversation}/messages",
        headers,
        json_body={"body": "one more thing"},
    )
    assert (refused.status, refused.json()["error"]["code"]) == (409, "chat_closed")
    last = ChatMessage.objects.filter(conversation_id=conversation).last()
    assert last.sender_kind == "system"
    assert (
        ChatMessage.objects.filter(conversation_id=conversation, sender_kind="system").count() == 1
    )


# --- the support team --------------------------------------------------------------------


def test_only_the_support_team_reaches_the_staff_endpoints(customer, server_key):
    _, headers = customer
    assert staff_call("GET", "/conversations", headers).status == 403
    assert staff_call("GET", "/conversations", server_key).status == 401
    for role in ("support", "staff", "admin"):
        _, team = signed_in(server_key, role)
        assert staff_call("GET", "/conversations", team).status == 200, role


def test_the_queue_lists_unassigned_first_with_filters(customer, support, server_key):
    _, headers = customer
    first = opened(headers, "first")["conversation"]["id"]
    second = opened(headers, "second")["conversation"]["id"]
    third = opened(headers, "third")["conversation"]["id"]
    _, team = support
    assert staff_call("POST", f"/conversations/{first}/claim", team).json()["assigned_to"]
    staff_call("POST", f"/conversations/{third}/close", team)
    queue = staff_call("GET", "/conversations", team).json()
    assert [item["id"] for item in queue["items"]] == [second, first]
    assert staff_call("GET", "/conversations?assigned=none", team).json()["count"] == 1
    assert staff_call("GET", "/conversations?assigned=me", team).json()["items"][0]["id"] == first
    assert staff_call("GET", "/conversations?status=closed", team).json()["count"] == 1
    assert staff_call("GET", "/conversations?status=all", team).json()["count"] == 3
    assert staff_call("GET", "/conversations?status=gone", team).status == 422
    assert staff_call("GET", "/conversations?assigned=not-an-id", team).json()["count"] == 0
    assert chat_queue_summary() == {"unassigned": 1, "assigned": 1, "awaiting_staff": 2}


def test_the_queue_costs_two_queries_whatever_its_length(
    customer, support, django_assert_num_queries
):
    for n in range(4):
        opened(customer[1], f"q{n}")
    with django_assert_num_queries(2):
        assert staff_call("GET", "/conversations", support[1]).json()["count"] == 4


def test_claims_and_assignments(customer, support, server_key):
    conversation = opened(customer[1])["conversation"]["id"]
    _, team = support
    colleague, colleague_headers = signed_in(server_key, "support")
    assert staff_call("POST", f"/conversations/{conversation}/claim", team).status == 200
    assert staff_call("POST", f"/conversations/{conversation}/claim", team).status == 200
    taken = staff_call("POST", f"/conversations/{conversation}/claim", colleague_headers)
    assert (taken.status, taken.json()["error"]["code"]) == (409, "chat_assigned_elsewhere")
    moved = staff_call(
        "POST",
        f"/conversations/{conversation}/assign",
        team,
        json_body={"assignee_id": str(colleague.pk)},
    )
    assert moved.json()["assigned_to"]["id"] == str(colleague.pk)
    shopper = customer[0]
    refused = staff_call(
        "POST",
        f"/conversations/{conversation}/assign",
        team,
        json_body={"assignee_id": str(shopper.pk)},
    )
    assert (refused.status, refused.json()["error"]["code"]) == (422, "chat_assignee_invalid")
    back = staff_call(
        "POST", f"/conversations/{conversation}/assign", team, json_body={"assignee_id": None}
    )
    assert back.json()["assigned_to"] is None


def test_staff_reply_notifies_the_signed_in_customer(customer, support):
    from db.models import Notification

    user, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    key = {**support[1], "Idempotency-Key": "reply-key-0001"}
    first = staff_call(
        "POST", f"/conversations/{conversation}/messages", key, json_body={"body": "We are on it"}
    )
    again = staff_call(
        "POST", f"/conversations/{conversation}/messages", key, json_body={"body": "We are on it"}
    )
    assert (first.status, again.status) == (201, 200)
    notes = Notification.objects.filter(user=user)
    assert notes.count() == 1 and notes.get().kind == "chat.reply"


def test_one_sides_key_never_replays_the_others_message(customer, support):
    _, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    url = f"/conversations/{conversation}/messages"
    key = {"Idempotency-Key": "shared-key-0001"}
    mine = chat("POST", url, {**headers, **key}, json_body={"body": "customer"})
    theirs = staff_call("POST", url, {**support[1], **key}, json_body={"body": "staff"})
    assert (mine.status, theirs.status) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_closed_conversations_are_reopened_by_staff(customer, support):
    conversation = opened(customer[1])["conversation"]["id"]
    _, team = support
    staff_call("POST", f"/conversations/{conversation}/close", team)
    refused = staff_call(
        "POST", f"/conversations/{conversation}/messages", team, json_body={"body": "hi"}
    )
    assert refused.status == 409
    assert (
        staff_call("POST", f"/conversations/{conversation}/reopen", team).json()["status"] == "open"
    )
    assert (
        staff_call(
            "POST", f"/conversations/{conversation}/messages", team, json_body={"body": "hi"}
        ).status
        == 201
    )


def test_unread_counts_for_the_team(customer, support):
    conversation = opened(customer[1])["conversation"]["id"]
    opened(customer[1], "another")
    _, team = support
    staff_call("POST", f"/conversations/{conversation}/claim", team)
    chat("POST", f"/conversations/{conversation}/messages", customer[1], json_body={"body": "?"})
    counts = staff_call("GET", "/counts", team).json()
    assert counts == {
        "unassigned": 1,
        "assigned": 1,
        "awaiting_staff": 2,
        "mine": 1,
        "mine_awaiting": 1,
        "mine_unread_messages": 2,
    }
    staff_call("POST", f"/conversations/{conversation}/read", team)
    assert staff_call("GET", "/counts", team).json()["mine_unread_messages"] == 0


def test_unknown_conversations_are_404_for_staff(support):
    missing = uuid.uuid4()
    for method, url in (
        ("GET", f"/conversations/{missing}"),
        ("POST", f"/conversations/{missing}/claim"),
        ("POST", f"/conversations/{missing}/close"),
    ):
        assert staff_call(method, url, support[1]).status == 404


# --- the contract other areas call ------------------------------------------------------


def test_conversation_open_with_a_transcript_for_a_handover(kv):
    token = "G" * 32
    conversation = conversation_open(
        user_id=None,
        guest_token=token,
        subject="Chatbot",
        first_message="I want a human",
        source="chatbot",
        transcript=[("guest", "hello"), ("bot", "Hi! How can I help?")],
    )
    kinds = list(conversation.messages.values_list("sender_kind", flat=True))
    assert kinds == ["guest", "bot", "system", "guest"]
    assert conversation.source == "chatbot"


# --- attachments -----------------------------------------------------------------------


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(headers, conversation, data, *, filename="photo.png", content_type="image/png", **f):
    body, kind = multipart(data, filename=filename, content_type=content_type, **f)
    return chat(
        "POST",
        f"/conversations/{conversation}/attachments",
        {**headers, "Content-Type": kind},
        body=body,
    )


def test_an_image_or_a_pdf_is_stored_and_sent_as_a_message(customer, support):
    from devtools.demo_images import product_png

    _, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    image = upload(
        headers, conversation, product_png("chat"), filename="../../etc/x.svg", body="see"
    )
    assert image.status == 201, image.body
    [attachment] = image.json()["attachments"]
    assert attachment["content_type"] == "image/png"  # from the bytes, not the name
    assert attachment["name"] == "x.png" and attachment["size"] > 0
    assert image.json()["body"] == "see"
    document = upload(headers, conversation, PDF, filename="invoice.pdf", content_type="text/html")
    assert document.json()["attachments"][0]["content_type"] == "application/pdf"
    body, kind = multipart(PDF, filename="a.pdf", content_type="application/pdf")
    staff_reply = call(
        api.chat_staff.app,
        "POST",
        f"/api/v1/admin/chat/conversations/{conversation}/attachments",
        headers={**support[1], "Content-Type": kind},
        body=body,
    )
    assert staff_reply.status == 201 and staff_reply.json()["sender"] == "staff"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"<svg onload=alert(1)></svg>", 422, "chat_attachment_type_unsupported"),
        (b"<html><script>x</script></html>", 422, "chat_attachment_type_unsupported"),
        (b"%PDF-1.4 no trailer", 422, "chat_attachment_corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, 422, "chat_attachment_corrupt"),
        (b"", 422, "chat_attachment_empty"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_written(customer, data, status, code):
    _, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    reply = upload(headers, conversation, data)
    assert (reply.status, reply.json()["error"]["code"]) == (status, code)
    assert ChatMessage.objects.filter(conversation_id=conversation).count() == 1


def test_a_file_over_the_limit_is_a_413(customer, monkeypatch):
    import dataclasses

    small = dataclasses.replace(conf.chat_config, attachment_max_bytes=10)
    monkeypatch.setattr("lib.chat.attachments.chat_config", small)
    _, headers = customer
    conversation = opened(headers)["conversation"]["id"]
    reply = upload(headers, conversation, PDF)
    assert (reply.status, reply.json()["error"]["code"]) == (413, "chat_attachment_too_large")


def test_a_file_for_another_shoppers_conversation_is_a_404(customer, server_key):
    conversation = opened(customer[1])["conversation"]["id"]
    _, stranger = signed_in(server_key, "customer")
    assert upload(stranger, conversation, PDF).status == 404
    assert upload(customer[1], conversation, PDF).status == 201


# --- retried opens and concurrent claims -------------------------------------------------


def test_a_retried_open_returns_the_first_conversation(customer, kv, server_key):
    _, headers = customer
    key = {**headers, "Idempotency-Key": "open-key-0001"}
    first = chat("POST", "/conversations", key, json_body={"message": "Hello"})
    again = chat("POST", "/conversations", key, json_body={"message": "Hello"})
    assert (first.status, again.status) == (201, 200)
    assert first.json()["conversation"]["id"] == again.json()["conversation"]["id"]
    assert Conversation.objects.count() == 1
    # A guest's retried first open gets the same conversation and the same token back.
    guest_key = {**server_key, "Idempotency-Key": "open-key-0002"}
    one = chat("POST", "/conversations", guest_key, json_body={"message": "Hi"})
    two = chat("POST", "/conversations", guest_key, json_body={"message": "Hi"})
    assert (one.status, two.status) == (201, 200)
    assert one.json()["guest_token"] == two.json()["guest_token"]
    assert one.json()["conversation"]["id"] == two.json()["conversation"]["id"]
    # The same key from someone else is their own, new conversation.
    _, stranger = signed_in(server_key, "customer")
    other = chat(
        "POST",
        "/conversations",
        {**stranger, "Idempotency-Key": "open-key-0001"},
        json_body={"message": "Hello"},
    )
    assert other.status == 201
    assert other.json()["conversation"]["id"] != first.json()["conversation"]["id"]


def test_concurrent_retries_of_one_open_create_one_conversation(transactional_db, kv, server_key):
    _, headers = signed_in(server_key, "customer")
    key = {**headers, "Idempotency-Key": "open-race-0001"}

    statuses = statuses_in_parallel(
        api.chat.app, "POST", "/api/v1/chat/conversations", [key] * 4, json_body={"message": "race"}
    )
    assert statuses == [200, 200, 200, 201]
    assert Conversation.objects.count() == 1


def test_two_team_members_claiming_at_once_one_wins(transactional_db, kv, server_key):
    _, headers = signed_in(server_key, "customer")
    conversation = opened(headers)["conversation"]["id"]
    team = [signed_in(server_key, "support")[1] for _ in range(3)]

    statuses = statuses_in_parallel(
        api.chat_staff.app, "POST", f"/api/v1/admin/chat/conversations/{conversation}/claim", team
    )
    assert statuses == [200, 409, 409]
    assert (
        ChatMessage.objects.filter(conversation_id=conversation, sender_kind="system").count() == 1
    )


def test_a_guests_unchanged_poll_reads_no_sql(guest, django_assert_num_queries):
    listed = chat("GET", "/conversations", guest).json()["items"][0]
    poll = f"/conversations/{listed['id']}/messages?since={listed['last_message_id']}"
    with django_assert_num_queries(0):
        assert chat("GET", poll, guest).json()["items"] == []


def test_the_staff_message_list_costs_two_queries(customer, support, django_assert_num_queries):
    conversation = opened(customer[1])["conversation"]["id"]
    for n in range(3):
        chat(
            "POST",
            f"/conversations/{conversation}/messages",
            customer[1],
            json_body={"body": f"m{n}"},
        )
    with django_assert_num_queries(2):  # the conversation, its messages
        page = staff_call("GET", f"/conversations/{conversation}/messages?since=0", support[1])
    assert len(page.json()["items"]) == 4
