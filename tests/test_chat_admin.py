"""The chat screens of the Django admin: conversations with their messages, filters,
search, and status or assignee changes made through the chat services."""

from __future__ import annotations

import sys
import types

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.test import Client
from django.urls import path

from db.models import ChatMessage, Conversation, User, UserRole
from lib.chat.poll import poll_state_get
from lib.chat.services import conversation_open

pytestmark = pytest.mark.django_db

admin_urls = types.ModuleType("zest_test_chat_admin_urls")
admin_urls.urlpatterns = [path("admin/", admin.site.urls)]
sys.modules[admin_urls.__name__] = admin_urls
CHANGELIST = "/admin/db/conversation/"


@pytest.fixture(autouse=True)
def admin_function(settings, kv):
    settings.ROOT_URLCONF = admin_urls.__name__
    settings.MIDDLEWARE = django_settings.ADMIN_MIDDLEWARE


def person(role: str) -> User:
    return User.objects.create_user(
        email=f"{role}-{User.objects.count()}@zest.test", password=None, role=role
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def conversations():
    shopper = person(UserRole.CUSTOMER)
    mine = conversation_open(
        user_id=str(shopper.pk),
        guest_token=None,
        subject="Late parcel",
        first_message="Where is my parcel?",
    )
    guest = conversation_open(
        user_id=None, guest_token="G" * 32, subject="Sizes", first_message="Do you have XL?"
    )
    return mine, guest


def test_support_sees_conversations_with_filters_and_search(conversations):
    mine, _ = conversations
    client = signed_in(person(UserRole.SUPPORT))
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert b"Late parcel" in page.content and b"Sizes" in page.content
    found = client.get(CHANGELIST, {"q": "XL"})
    assert b"Sizes" in found.content and b"Late parcel" not in found.content
    assert client.get(CHANGELIST, {"status__exact": "closed"}).context["cl"].result_count == 0
    assert client.get(CHANGELIST, {"assigned": "none"}).context["cl"].result_count == 2
    assert client.get(CHANGELIST, {"source__exact": "chatbot"}).context["cl"].result_count == 0
    detail = client.get(f"{CHANGELIST}{mine.pk}/change/")
    assert detail.status_code == 200 and b"Where is my parcel?" in detail.content


def test_a_customer_or_vendor_cannot_open_the_chat_screens(conversations):
    for role in (UserRole.CUSTOMER, UserRole.VENDOR_STAFF):
        client = signed_in(person(role))
        assert client.get(CHANGELIST).status_code in (302, 403)


def test_closing_and_assigning_in_the_admin_go_through_the_chat_services(conversations):
    mine, _ = conversations
    agent = person(UserRole.SUPPORT)
    client = signed_in(agent)
    reply = client.post(
        f"{CHANGELIST}{mine.pk}/change/",
        {
            "status": "closed",
            "assigned_to": str(agent.pk),
            "messages-TOTAL_FORMS": "1",
            "messages-INITIAL_FORMS": "1",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
        },
    )
    assert reply.status_code == 302, reply.content[:2000]
    mine.refresh_from_db()
    assert mine.status == "closed" and mine.assigned_to_id == agent.pk
    notes = ChatMessage.objects.filter(conversation=mine, sender_kind="system")
    assert notes.count() == 2  # assigned, closed
    assert poll_state_get(str(mine.pk)).last_message_id == mine.last_message_id


def test_a_customer_cannot_be_assigned_in_the_admin(conversations):
    mine, _ = conversations
    client = signed_in(person(UserRole.SUPPORT))
    shopper = person(UserRole.CUSTOMER)
    reply = client.post(
        f"{CHANGELIST}{mine.pk}/change/",
        {
            "status": "open",
            "assigned_to": str(shopper.pk),
            "messages-TOTAL_FORMS": "1",
            "messages-INITIAL_FORMS": "1",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
        },
    )
    assert reply.status_code == 200  # the form refuses the choice
    assert Conversation.objects.get(pk=mine.pk).assigned_to_id is None


def test_deleting_a_conversation_deletes_its_attached_files(
    conversations, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    from lib.chat.attachments import attachment_inspect, attachment_store
    from lib.chat.staff import conversations_delete

    mine, guest = conversations
    pdf = attachment_inspect(b"%PDF-1.4\n%%EOF\n", name="receipt.pdf")
    record = attachment_store(conversation_id=str(mine.pk), file=pdf)
    ChatMessage.objects.create(conversation=mine, sender_kind="customer", attachments=[record])
    assert default_storage.exists(record["pathname"])
    with django_capture_on_commit_callbacks(execute=True):
        assert conversations_delete(Conversation.objects.filter(pk=mine.pk)) == 1
    assert not default_storage.exists(record["pathname"])
    assert list(Conversation.objects.values_list("pk", flat=True)) == [guest.pk]


def test_deleting_in_the_admin_goes_through_the_chat_services(conversations):
    mine, _ = conversations
    client = signed_in(person(UserRole.SUPPORT))
    reply = client.post(f"{CHANGELIST}{mine.pk}/delete/", {"post": "yes"})
    assert reply.status_code == 302
    assert not Conversation.objects.filter(pk=mine.pk).exists()
    assert not ChatMessage.objects.filter(conversation_id=mine.pk).exists()


def test_the_chat_screens_render_without_per_row_queries(conversations):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(person(UserRole.ADMIN))
    pages = (CHANGELIST, "/admin/db/chatmessage/")

    def queries() -> list[int]:
        counts = []
        for page in pages:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(page).status_code == 200
            counts.append(len(captured))
        return counts

    few = queries()
    for n in range(3):
        conversation_open(
            user_id=str(person(UserRole.CUSTOMER).pk),
            guest_token=None,
            subject=f"More {n}",
            first_message="hello",
        )
    assert queries() == few
    message = ChatMessage.objects.first()
    assert client.get(f"/admin/db/chatmessage/{message.pk}/change/").status_code == 200
