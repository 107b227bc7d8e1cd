"""Product reviews: one per shopper, verified purchases, helpful votes, moderation, counters.

The function writes to the app's documents database, which tests share: every test uses
fresh products and users (new UUIDs), so no test sees another's reviews.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

import api.reviews
from db.models import Order, OrderItem, Product, User
from lib.access.api_key_cache import api_key_record_fill
from lib.access.api_keys import api_key_create
from lib.access.sessions import session_start
from lib.catalog.cache import catalog_cache_invalidate
from lib.engagement.reviews import product_rating_recount
from lib.engagement.store import reviews_collection
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db

_orders = itertools.count(1)


@pytest.fixture
def product():
    return factories.product(category=factories.category())


@pytest.fixture
def person(server_key):
    """Create a user of a role and return (user, request headers as that user)."""

    def person(role: str = "customer", full_name: str = "Rahim Uddin", **headers):
        user = User.objects.create_user(
            email=f"{role}-{next(_orders)}@shop.test", password=None, role=role, full_name=full_name
        )
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}", **headers}

    return person


@pytest.fixture
def customer(person):
    return person()


@pytest.fixture
def staff(person):
    return person(role="staff", full_name="Moderator")


def send(method: str, url: str, **kwargs):
    return call(api.reviews.app, method, url, **kwargs)


def reviews_url(product: Product, suffix: str = "") -> str:
    return f"/api/v1/products/{product.slug}/reviews{suffix}"


def post_review(product, headers, **body):
    return send(
        "POST",
        reviews_url(product),
        json_body={"rating": 5, **body},
        headers=headers,
    )


def counters(product: Product) -> tuple[int, int]:
    product.refresh_from_db(fields=["rating_count", "rating_sum"])
    return product.rating_count, product.rating_sum


def order_with(product: Product, user: User, *, status: str, payment_status: str) -> Order:
    order = Order.objects.create(
        number=f"ZS-T-{next(_orders):06d}",
        user=user,
        status=status,
        payment_method="bkash",
        payment_status=payment_status,
        subtotal=Decimal("100.00"),
        total_amount=Decimal("100.00"),
    )
    OrderItem.objects.create(
        order=order,
        product=product,
        product_name=product.name_en,
        sku=product.sku,
        quantity=1,
        unit_price=Decimal("100.00"),
        total_price=Decimal("100.00"),
    )
    return order


# --- writing a review ----------------------------------------------------------------


def test_a_shopper_reviews_a_product_once_and_the_counters_follow(product, customer):
    _, headers = customer
    response = post_review(product, headers, rating=4, review_text="Good quality, fast delivery.")
    assert response.status == 201, response.body
    review = response.json()
    assert review["rating"] == 4
    assert review["author_name"] == "Rahim U."
    assert (review["status"], review["language"], review["is_mine"]) == ("published", "en", True)
    assert review["verified_purchase"] is False
    assert counters(product) == (1, 4)

    again = post_review(product, headers, rating=1)
    assert again.status == 409
    assert again.json()["error"]["code"] == "review_exists"
    assert counters(product) == (1, 4)


def test_reviewing_needs_a_signed_in_user(product, server_key):
    response = post_review(product, server_key)
    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_reviews_of_unknown_or_draft_products_are_not_found(customer, server_key):
    draft = factories.product(category=factories.category(), is_active=False)
    assert post_review(draft, customer[1]).status == 404
    assert send("GET", reviews_url(draft), headers=server_key).status == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": 4.5}, "rating"),
        ({"rating": True}, "rating"),
        ({"review_text": "x" * 9000}, "review_text"),
        ({"review_text": "ভালো " * 900}, "review_text"),  # 4,500 characters after cleaning
        ({"images": ["javascript:alert(1)"]}, "images"),
        ({"images": ["/relative.png"]}, "images"),
        ({"images": [f"https://img.test/{n}.jpg" for n in range(6)]}, "images"),
    ],
)
def test_invalid_reviews_are_refused_with_the_field(product, customer, body, field):
    response = post_review(product, customer[1], **body)
    assert response.status == 422, response.body
    assert field in response.json()["error"]["fields"]
    assert counters(product) == (0, 0)


def test_unknown_fields_are_refused_not_dropped(product, customer):
    response = post_review(product, customer[1], title="Great", body="Loved it")

    assert response.status == 422, response.body
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"title", "body"}
    assert counters(product) == (0, 0)


def test_review_text_is_plain_text_and_bangla_round_trips(product, customer):
    text = "<b>খুব ভালো</b> চাল,\r\nদ্রুত ডেলিভারি <script>alert(1)</script>&amp; দাম ঠিক আছে"
    images = ["https://blob.test/reviews/1.jpg", "https://blob.test/reviews/1.jpg"]
    created = post_review(
        product, {**customer[1], "Accept-Language": "bn"}, review_text=text, images=images
    ).json()
    expected = "খুব ভালো চাল,\nদ্রুত ডেলিভারি & দাম ঠিক আছে"
    assert created["review_text"] == expected
    assert created["language"] == "bn"
    assert created["images"] == ["https://blob.test/reviews/1.jpg"]
    listed = send("GET", reviews_url(product), headers=customer[1])
    assert "খুব ভালো চাল".encode() in listed.body  # UTF-8, not \\u escapes
    assert listed.json()["items"][0]["review_text"] == expected

    again = post_review(product, {**customer[1], "Accept-Language": "bn"})
    assert again.json()["error"]["message"].startswith("আপনি ইতিমধ্যে এই পণ্যের রিভিউ")


def test_verified_purchase_comes_from_the_shoppers_orders(product, person, server_key):
    cases = [
        ("delivered", "unpaid", True),  # cash on delivery, delivered
        ("confirmed", "paid", True),
        ("pending", "unpaid", False),
        ("cancelled", "paid", False),
        ("refunded", "refunded", False),
    ]
    for status, payment_status, expected in cases:
        user, headers = person()
        order_with(product, user, status=status, payment_status=payment_status)
        review = post_review(product, headers).json()
        assert review["verified_purchase"] is expected, (status, payment_status)
    other_product = factories.product(category=product.category)
    user, headers = person()
    order_with(other_product, user, status="delivered", payment_status="paid")
    assert post_review(product, headers).json()["verified_purchase"] is False


def test_writing_a_review_costs_three_queries_and_forgets_the_cached_product(
    product, customer, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # The queries: the product, the author and their purchase, the counters.
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(3):
        assert post_review(product, customer[1]).status == 201
    assert [(c.func, c.keywords) for c in callbacks] == [
        (catalog_cache_invalidate, {"product_ids": [str(product.pk)]})
    ]


# --- editing and deleting one's own review ----------------------------------------------


def test_a_shopper_edits_and_deletes_only_their_own_review(product, customer, person, server_key):
    _, headers = customer
    review = post_review(product, headers, rating=4, review_text="Nice").json()
    url = f"/api/v1/reviews/{review['id']}"

    _, stranger = person()
    assert send("PATCH", url, json_body={"rating": 1}, headers=stranger).status == 404
    assert send("DELETE", url, headers=stranger).status == 404

    edited = send(
        "PATCH",
        url,
        json_body={"rating": 2, "review_text": "Tore in a week"},
        headers=headers,
    )
    assert edited.status == 200, edited.body
    assert (edited.json()["rating"], edited.json()["review_text"]) == (2, "Tore in a week")
    assert edited.json()["created_at"] == review["created_at"]
    assert counters(product) == (1, 2)
    assert send("GET", reviews_url(product, "/mine"), headers=headers).json()["rating"] == 2

    assert send("DELETE", url, headers=headers).status == 204
    assert counters(product) == (0, 0)
    assert send("DELETE", url, headers=headers).status == 404
    assert send("GET", reviews_url(product), headers=headers).json()["count"] == 0
    # Deleting frees the slot: the shopper may review the product again.
    assert post_review(product, headers, rating=3).status == 201
    assert counters(product) == (1, 3)


def test_unknown_review_ids_are_not_found(customer):
    for review_id in ("not-an-id", "65f000000000000000000000"):
        url = f"/api/v1/reviews/{review_id}"
        assert send("PATCH", url, json_body={"rating": 3}, headers=customer[1]).status == 404
        assert send("POST", f"{url}/helpful", headers=customer[1]).status == 404


# --- helpful votes -------------------------------------------------------------------


def test_helpful_votes_count_once_per_shopper_and_never_ones_own(
    product, customer, person, server_key
):
    review = post_review(product, customer[1]).json()
    helpful = f"/api/v1/reviews/{review['id']}/helpful"
    _, first = person()
    _, second = person()

    own = send("POST", helpful, headers=customer[1])
    assert (own.status, own.json()["error"]["code"]) == (403, "review_own_vote")

    assert send("POST", helpful, headers=first).json() == {
        "review_id": review["id"],
        "helpful_votes": 1,
        "voted": True,
    }
    assert send("POST", helpful, headers=first).json()["helpful_votes"] == 1
    assert send("POST", helpful, headers=second).json()["helpful_votes"] == 2
    assert send("DELETE", helpful, headers=first).json()["helpful_votes"] == 1
    assert send("DELETE", helpful, headers=first).json()["helpful_votes"] == 1
    assert send("POST", helpful, headers=server_key).status == 401


def test_reviews_sort_by_helpfulness_rating_and_date(product, person, server_key):
    ids = {}
    for rating in (3, 5, 1):
        _, headers = person()
        ids[rating] = post_review(product, headers, rating=rating).json()["id"]
    _, voter = person()
    send("POST", f"/api/v1/reviews/{ids[1]}/helpful", headers=voter)

    def order(sort: str) -> list[str]:
        body = send("GET", reviews_url(product) + f"?sort={sort}", headers=server_key).json()
        return [item["id"] for item in body["items"]]

    assert order("newest") == [ids[1], ids[5], ids[3]]
    assert order("helpful")[0] == ids[1]
    assert order("highest") == [ids[5], ids[3], ids[1]]
    assert order("lowest") == [ids[1], ids[3], ids[5]]


# --- the summary and the listing ------------------------------------------------------


def test_summary_has_count_average_and_histogram_of_published_reviews(
    product, person, server_key, staff
):
    review_ids = []
    for rating in (5, 5, 4, 1, 3, 2):
        _, headers = person()
        review_ids.append(post_review(product, headers, rating=rating).json()["id"])
    hide = f"/api/v1/admin/reviews/{review_ids[-1]}/hide"
    assert send("POST", hide, json_body={"reason": "Spam link"}, headers=staff[1]).status == 200

    body = send("GET", reviews_url(product) + "?page_size=2", headers=server_key).json()
    assert body["summary"] == {
        "count": 5,
        "average": 3.6,
        "histogram": {"1": 1, "2": 0, "3": 1, "4": 1, "5": 2},
    }
    assert (body["count"], body["pages"], len(body["items"])) == (5, 3, 2)
    assert all(item["is_mine"] is False for item in body["items"])
    last = send("GET", reviews_url(product) + "?page=3&page_size=2", headers=server_key).json()
    assert len(last["items"]) == 1
    fives = send("GET", reviews_url(product) + "?rating=5", headers=server_key).json()
    assert (fives["count"], {item["rating"] for item in fives["items"]}) == (2, {5})
    # The product's counters agree with the reviews.
    assert counters(product) == (5, 18)
    assert product.rating_average == 3.6


def test_listing_reviews_costs_one_sql_query_whatever_the_page(
    product, person, server_key, django_assert_num_queries
):
    for rating in (1, 2, 3, 4, 5):
        post_review(product, person()[1], rating=rating)
    with django_assert_num_queries(1):  # the product; reviews and summary come from MongoDB
        body = send("GET", reviews_url(product) + "?page_size=50", headers=server_key).json()
    assert len(body["items"]) == 5


# --- moderation ----------------------------------------------------------------------


def test_moderators_hide_and_publish_with_a_reason_and_counters_follow(product, customer, staff):
    review = post_review(product, customer[1], rating=4).json()
    hide = f"/api/v1/admin/reviews/{review['id']}/hide"
    publish = f"/api/v1/admin/reviews/{review['id']}/publish"

    hidden = send("POST", hide, json_body={"reason": "Personal data"}, headers=staff[1])
    assert hidden.status == 200, hidden.body
    assert hidden.json()["status"] == "hidden"
    assert hidden.json()["moderation"]["reason"] == "Personal data"
    assert hidden.json()["moderation"]["actor_id"] == str(staff[0].pk)
    assert counters(product) == (0, 0)
    assert send("GET", reviews_url(product), headers=customer[1]).json()["count"] == 0
    # Its author still sees it, hidden.
    mine = send("GET", reviews_url(product, "/mine"), headers=customer[1]).json()
    assert mine["status"] == "hidden"
    # Hiding twice changes nothing; editing a hidden review does not count it.
    assert send("POST", hide, json_body={"reason": "Still"}, headers=staff[1]).status == 200
    send(
        "PATCH",
        f"/api/v1/reviews/{review['id']}",
        json_body={"rating": 5},
        headers=customer[1],
    )
    assert counters(product) == (0, 0)
    # Nobody can vote on a hidden review.
    assert send("POST", f"/api/v1/reviews/{review['id']}/helpful", headers=staff[1]).status == 404

    queue = send(
        "GET",
        "/api/v1/admin/reviews?status=hidden&product_id=" + str(product.pk),
        headers=staff[1],
    )
    assert [item["id"] for item in queue.json()["items"]] == [review["id"]]

    published = send("POST", publish, json_body={"reason": "Edited"}, headers=staff[1])
    assert published.json()["status"] == "published"
    assert counters(product) == (1, 5)


def test_only_moderators_may_moderate(product, customer, person, server_key):
    review = post_review(product, customer[1]).json()
    hide = f"/api/v1/admin/reviews/{review['id']}/hide"
    for role in ("customer", "vendor_owner"):
        _, headers = person(role=role)
        response = send("POST", hide, json_body={"reason": "Not mine"}, headers=headers)
        assert (response.status, response.json()["error"]["code"]) == (403, "forbidden")
        assert send("GET", "/api/v1/admin/reviews", headers=headers).status == 403
    assert send("POST", hide, json_body={"reason": "x"}, headers=server_key).status == 401

    _, admin = person(role="admin")
    assert send("POST", hide, json_body={"reason": ""}, headers=admin).status == 422
    # A moderator calling through a key without the catalog:manage scope is refused.
    key, secret = api_key_create(name="storefront", kind="secret", scopes=["storefront:read"])
    api_key_record_fill(key_id=key.key_id)
    storefront_key = {
        "X-API-Key": key.key_id,
        "X-API-Secret": secret,
        "Authorization": admin["Authorization"],
    }
    denied = send("POST", hide, json_body={"reason": "Spam"}, headers=storefront_key)
    assert (denied.status, denied.json()["error"]["code"]) == (403, "scope_denied")
    assert send("POST", hide, json_body={"reason": "Spam"}, headers=admin).status == 200
    assert counters(product) == (0, 0)


def test_recount_rebuilds_the_counters_from_the_reviews(product, person, server_key):
    for rating in (2, 5):
        post_review(product, person()[1], rating=rating)
    Product.objects.filter(pk=product.pk).update(rating_count=40, rating_sum=7)
    summary = product_rating_recount(product_id=str(product.pk))
    assert summary.count == 2
    assert counters(product) == (2, 7)


def test_a_delete_that_died_half_way_does_not_block_a_new_review(product, customer):
    user, headers = customer
    review = post_review(product, headers, rating=2).json()
    # What a crashed delete leaves: the review marked, its counters already taken back.
    reviews_collection().update_one({"user_id": str(user.pk)}, {"$set": {"status": "deleting"}})
    Product.objects.filter(pk=product.pk).update(rating_count=0, rating_sum=0)
    created = post_review(product, headers, rating=4)
    assert created.status == 201
    assert created.json()["id"] != review["id"]
    assert counters(product) == (1, 4)
