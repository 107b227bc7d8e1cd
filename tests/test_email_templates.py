"""Every email template renders in English and in Bangla, escapes what users typed in HTML,
and shows BDT with lakh grouping (Bangla digits in Bangla)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.email import email_render

TEMPLATES = Path(__file__).resolve().parent.parent / "lib/notifications/templates/email"
HOSTILE = '<script>alert("x")</script> & Co'
CONTEXTS = {
    "notification": {
        "title_en": HOSTILE,
        "title_bn": HOSTILE,
        "body_en": HOSTILE,
        "body_bn": HOSTILE,
        "url": "/account",
    },
    "verify_email": {
        "link": "https://shop.test/verify-email?token=abc",
        "hours": "48",
        "hours_bn": "৪৮",
    },
    "password_reset": {
        "link": "https://shop.test/reset-password?token=abc",
        "hours": "1",
        "hours_bn": "১",
    },
    "password_changed": {"link": "https://shop.test/forgot-password"},
    "stock_alert": {
        "out": False,
        "name_en": HOSTILE,
        "name_bn": HOSTILE,
        "sku": "KANTHA-1",
        "available": "4",
        "available_bn": "৪",
        "threshold": "5",
        "threshold_bn": "৫",
    },
}
ORDER = {
    "number_en": "ZS-2612-000001",
    "number_bn": "ZS-২৬১২-০০০০০১",
    "status_en": "Shipped",
    "status_bn": "পাঠানো হয়েছে",
    "status": "shipped",
    "total_en": "৳1,23,460.00",
    "total_bn": "৳১,২৩,৪৬০.০০",
    "shipping_en": "৳60.00",
    "shipping_bn": "৳৬০.০০",
    "cod": True,
    "items": [
        {
            "name_en": HOSTILE,
            "name_bn": HOSTILE,
            "quantity": 2,
            "quantity_bn": "২",
            "total_en": "৳1,23,400.00",
            "total_bn": "৳১,২৩,৪০০.০০",
        }
    ],
    "note": HOSTILE,
    "url": "/account/orders/ZS-2612-000001",
}
for name in ("order_placed", "payment_received", "refund", "order_status"):
    CONTEXTS[name] = ORDER


def test_every_template_has_a_context_here():
    names = {p.name.removesuffix("_subject.txt") for p in TEMPLATES.glob("*_subject.txt")}
    assert names == set(CONTEXTS)
    for name in names:
        assert (TEMPLATES / f"{name}.txt").exists() and (TEMPLATES / f"{name}.html").exists()


@pytest.mark.parametrize("name", sorted(CONTEXTS))
@pytest.mark.parametrize("language", ["en", "bn"])
def test_renders_in_one_language_with_user_text_escaped_in_html_only(name, language):
    email = email_render(name, language=language, context=CONTEXTS[name])

    assert email.subject and "\n" not in email.subject
    assert email.html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in email.html
    assert "<script>" not in email.html
    if HOSTILE in email.text:
        assert "&lt;script&gt;" in email.html  # the same text, escaped
    bangla = any("\u0980" <= ch <= "\u09ff" and ch != "৳" for ch in email.text)
    assert bangla is (language == "bn")
    other = "bn" if language == "en" else "en"
    assert email.text != email_render(name, language=other, context=CONTEXTS[name]).text


def test_order_amounts_use_lakh_grouping_and_bangla_digits():
    english = email_render("order_placed", language="en", context=ORDER)
    bangla = email_render("order_placed", language="bn", context=ORDER)

    assert "Total: ৳1,23,460.00" in english.text and "৳1,23,460.00" in english.html
    assert "মোট: ৳১,২৩,৪৬০.০০" in bangla.text and "৳১,২৩,৪৬০.০০" in bangla.html
    assert "Please have ৳1,23,460.00 ready on delivery" in english.text


def test_plain_text_keeps_links_whole():
    email = email_render("verify_email", language="en", context=CONTEXTS["verify_email"])
    assert "https://shop.test/verify-email?token=abc" in email.text
    assert 'href="https://shop.test/verify-email?token=abc"' in email.html
