"""Checkout under concurrency, on the real database: never oversold, one order per key."""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from db.models import Order, Product
from lib.cart.store import CartLine
from lib.checkout.addresses import AddressInput, address_validate
from lib.checkout.placement import PlaceRequest, fingerprint_of, order_place, order_timeouts_sweep
from lib.errors import ApiError
from lib.inventory import with_available
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def geo(kv):
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)


def request_for(product, *, key: str, phone: str, method: str = "cod") -> PlaceRequest:
    address = address_validate(
        data=AddressInput(
            full_name="Rahim Uddin",
            phone=phone,
            address_line1="House 1",
            division="Dhaka",
            district="Dhaka",
        )
    )
    body = {"product": str(product.pk), "method": method}
    return PlaceRequest(
        lines=[CartLine(product_id=str(product.pk), variation_id=None, quantity=1)],
        address=address,
        payment_method=method,
        guest_email="buyer@shop.test",
        guest_phone=address.phone,
        idempotency_key=key,
        fingerprint=fingerprint_of(body, user_id=None),
    )


def run_all(work, count: int) -> list[str]:
    start = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        try:
            start.wait()
            outcome = work(index)
        except ApiError as error:
            outcome = error.code
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def available(product) -> int:
    return with_available(Product.objects.filter(pk=product.pk)).get().available


def test_fifty_buyers_of_ten_units_make_exactly_ten_orders():
    product = factories.product(
        category=factories.category(), quantity=10, price=Decimal("300"), images=0
    )

    def buy(index: int) -> str:
        phone = f"0171{index:07d}"
        order_place(request_for(product, key=f"buyer-{index:04d}-key", phone=phone))
        return "placed"

    outcomes = Counter(run_all(buy, 50))

    assert outcomes == {"placed": 10, "out_of_stock": 40}
    product.refresh_from_db()
    assert (product.quantity, product.allocated, available(product)) == (10, 10, 0)
    assert Order.objects.count() == 10
    assert len(set(Order.objects.values_list("number", flat=True))) == 10


def test_twenty_concurrent_retries_with_one_key_make_one_order():
    product = factories.product(category=factories.category(), quantity=50, images=0)
    request = request_for(product, key="one-key-for-all", phone="01712345678")

    numbers = run_all(lambda _: order_place(request).order.number, 20)

    assert len(set(numbers)) == 1
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.allocated == 1


def test_the_timeout_releases_stock_for_buyers_after():
    product = factories.product(category=factories.category(), quantity=1, images=0)
    first = order_place(
        request_for(product, key="wallet-first", phone="01712345678", method="bkash")
    )
    with pytest.raises(ApiError) as sold_out:
        order_place(request_for(product, key="wallet-second", phone="01812345678"))
    Order.objects.filter(pk=first.order.pk).update(payment_due_at=timezone.now() - timedelta(1))

    assert order_timeouts_sweep() == {"cancelled": 1}
    again = order_place(request_for(product, key="wallet-second", phone="01812345678"))

    assert sold_out.value.code == "out_of_stock"
    assert again.order.status == "placed"
    product.refresh_from_db()
    assert product.allocated == 1
