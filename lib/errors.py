"""One error shape for every failure: `{"error": {"code", "message", "fields"}}`.

Domain code raises `ApiError` (or a subclass) with a code from `MESSAGES`; the message is
rendered in the caller's language (English or Bangla) by the exception handlers installed
on every function's API.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, JsonResponse

from lib.i18n import Language, request_language

logger = logging.getLogger("zest.errors")

# code -> (English, Bangla)
MESSAGES: dict[str, tuple[str, str]] = {
    "bad_request": ("The request could not be understood.", "অনুরোধটি বোঝা যায়নি।"),
    "malformed_json": ("The request body is not valid JSON.", "অনুরোধের বডি বৈধ JSON নয়।"),
    "validation_error": ("Some fields are invalid.", "কিছু ঘর সঠিক নয়।"),
    "unauthenticated": ("Authentication is required.", "প্রমাণীকরণ প্রয়োজন।"),
    "forbidden": (
        "You are not allowed to do this.",
        "আপনার এই কাজটি করার অনুমতি নেই।",
    ),
    "not_found": ("The requested resource was not found.", "অনুরোধ করা তথ্য পাওয়া যায়নি।"),
    "method_not_allowed": (
        "This method is not allowed on this path.",
        "এই পথে এই পদ্ধতি অনুমোদিত নয়।",
    ),
    "conflict": (
        "The request conflicts with the current state.",
        "অনুরোধটি বর্তমান অবস্থার সাথে সাংঘর্ষিক।",
    ),
    "payload_too_large": ("The request body is too large.", "অনুরোধের বডি খুব বড়।"),
    "uri_too_long": ("The request URL is too long.", "অনুরোধের URL খুব দীর্ঘ।"),
    "nul_character": (
        "The request contains the NUL character (U+0000), which no text may hold.",
        "অনুরোধে NUL অক্ষর (U+0000) আছে, যা কোনো লেখায় থাকতে পারে না।",
    ),
    "value_out_of_range": (
        "A value is out of the range the store accepts: a number is too large or too small, "
        "or a text cannot be stored.",
        "একটি মান স্টোরের গ্রহণযোগ্য সীমার বাইরে: কোনো সংখ্যা খুব বড় বা খুব ছোট, অথবা কোনো লেখা সংরক্ষণ করা যায় না।",
    ),
    "multipart_invalid": (
        "The request body is not valid multipart form data (check its boundary).",
        "অনুরোধের বডি বৈধ মাল্টিপার্ট ফর্ম ডেটা নয় (এর বাউন্ডারি পরীক্ষা করুন)।",
    ),
    "unsupported_media_type": (
        "The request body must be JSON.",
        "অনুরোধের বডি অবশ্যই JSON হতে হবে।",
    ),
    "rate_limited": (
        "Too many requests. Please try again later.",
        "অনেক বেশি অনুরোধ। অনুগ্রহ করে পরে আবার চেষ্টা করুন।",
    ),
    "region_blocked": (
        "This service is not available in your region.",
        "আপনার অঞ্চলে এই সেবাটি পাওয়া যায় না।",
    ),
    # users and sessions
    "email_taken": (
        "An account with this email address already exists.",
        "এই ইমেইল ঠিকানা দিয়ে ইতিমধ্যে একটি অ্যাকাউন্ট আছে।",
    ),
    "email_invalid": ("Enter a valid email address.", "একটি সঠিক ইমেইল ঠিকানা লিখুন।"),
    "email_missing": (
        "This account has no email address (it was made with a phone number).",
        "এই অ্যাকাউন্টে কোনো ইমেইল ঠিকানা নেই (এটি ফোন নম্বর দিয়ে খোলা হয়েছে)।",
    ),
    "phone_invalid": (
        "Enter a valid Bangladeshi mobile number, e.g. 01712345678.",
        "একটি সঠিক বাংলাদেশি মোবাইল নম্বর লিখুন, যেমন ০১৭১২৩৪৫৬৭৮।",
    ),
    "password_too_weak": ("The password is too weak.", "পাসওয়ার্ডটি যথেষ্ট শক্তিশালী নয়।"),
    "password_incorrect": (
        "The current password is incorrect.",
        "বর্তমান পাসওয়ার্ডটি সঠিক নয়।",
    ),
    "invalid_credentials": (
        "The email or password is incorrect.",
        "ইমেইল বা পাসওয়ার্ড সঠিক নয়।",
    ),
    "account_disabled": (
        "This account has been disabled.",
        "এই অ্যাকাউন্টটি নিষ্ক্রিয় করা হয়েছে।",
    ),
    "refresh_token_invalid": (
        "The refresh token is invalid or has expired. Please sign in again.",
        "রিফ্রেশ টোকেনটি অবৈধ বা মেয়াদোত্তীর্ণ। অনুগ্রহ করে আবার সাইন ইন করুন।",
    ),
    "refresh_token_reused": (
        "This refresh token was already used, so the session was ended for safety. "
        "Please sign in again.",
        "এই রিফ্রেশ টোকেনটি আগেই ব্যবহার করা হয়েছে, তাই নিরাপত্তার জন্য সেশনটি বন্ধ করা হয়েছে। "
        "অনুগ্রহ করে আবার সাইন ইন করুন।",
    ),
    "refresh_in_progress": (
        "This refresh token was just used by another request. Use the newest tokens.",
        "এই রিফ্রেশ টোকেনটি এইমাত্র অন্য একটি অনুরোধে ব্যবহৃত হয়েছে। সর্বশেষ টোকেন ব্যবহার করুন।",
    ),
    "verification_token_invalid": (
        "This verification link is invalid, already used or expired.",
        "এই যাচাইকরণ লিংকটি অবৈধ, আগেই ব্যবহৃত বা মেয়াদোত্তীর্ণ।",
    ),
    "reset_token_invalid": (
        "This password reset link is invalid, already used or expired.",
        "এই পাসওয়ার্ড রিসেট লিংকটি অবৈধ, আগেই ব্যবহৃত বা মেয়াদোত্তীর্ণ।",
    ),
    # phone sign-in with SMS codes
    "otp_invalid": (
        "The code is not right. Check the SMS and try again.",
        "কোডটি সঠিক নয়। এসএমএসটি দেখে আবার চেষ্টা করুন।",
    ),
    "otp_expired": (
        "This code has expired or was already used. Ask for a new code.",
        "এই কোডের মেয়াদ শেষ অথবা এটি আগেই ব্যবহার করা হয়েছে। নতুন কোড চান।",
    ),
    "otp_attempts_exceeded": (
        "Too many wrong codes: this code no longer works. Ask for a new code.",
        "অনেকবার ভুল কোড দেওয়া হয়েছে: এই কোডটি আর কাজ করবে না। নতুন কোড চান।",
    ),
    "otp_resend_too_soon": (
        "A code was just sent to this number. Wait a little before asking for another.",
        "এই নম্বরে এইমাত্র একটি কোড পাঠানো হয়েছে। আরেকটি চাওয়ার আগে একটু অপেক্ষা করুন।",
    ),
    "phone_taken": (
        "Another account already uses this phone number.",
        "এই ফোন নম্বরটি ইতিমধ্যে অন্য একটি অ্যাকাউন্টে ব্যবহৃত হচ্ছে।",
    ),
    "phone_verification_invalid": (
        "The phone verification is invalid, expired or for another number. Verify the phone again.",
        "ফোন যাচাইটি অবৈধ, মেয়াদোত্তীর্ণ বা অন্য নম্বরের। ফোনটি আবার যাচাই করুন।",
    ),
    # API keys
    "token_revoked": (
        "Your session has ended. Please sign in again.",
        "আপনার সেশন শেষ হয়েছে। অনুগ্রহ করে আবার সাইন ইন করুন।",
    ),
    "token_expired": (
        "Your sign-in has expired. Refresh it or sign in again.",
        "আপনার সাইন-ইনের মেয়াদ শেষ হয়েছে। রিফ্রেশ করুন বা আবার সাইন ইন করুন।",
    ),
    "token_invalid": ("The access token is invalid.", "অ্যাক্সেস টোকেনটি অবৈধ।"),
    "api_key_required": (
        "An API key is required: send it in the X-API-Key header.",
        "একটি API কী প্রয়োজন: X-API-Key হেডারে এটি পাঠান।",
    ),
    "api_key_invalid": ("The API key is not valid.", "API কীটি বৈধ নয়।"),
    "api_key_revoked": ("This API key has been revoked.", "এই API কীটি বাতিল করা হয়েছে।"),
    "api_secret_required": (
        "This API key needs its secret (X-API-Secret) or a request signature "
        "(X-Signature and X-Timestamp).",
        "এই API কীর সাথে এর সিক্রেট (X-API-Secret) অথবা অনুরোধের স্বাক্ষর "
        "(X-Signature ও X-Timestamp) প্রয়োজন।",
    ),
    "api_secret_invalid": ("The API secret is not valid.", "API সিক্রেটটি বৈধ নয়।"),
    "signature_invalid": ("The request signature is not valid.", "অনুরোধের স্বাক্ষরটি বৈধ নয়।"),
    "signature_expired": (
        "The request timestamp is too far from the current time; sign the request again.",
        "অনুরোধের সময়চিহ্ন বর্তমান সময় থেকে অনেক দূরে; অনুরোধটি আবার স্বাক্ষর করুন।",
    ),
    "signature_replayed": (
        "This signed request was already received; sign every request afresh.",
        "এই স্বাক্ষরিত অনুরোধটি আগেই গৃহীত হয়েছে; প্রতিটি অনুরোধ নতুন করে স্বাক্ষর করুন।",
    ),
    "origin_denied": (
        "This website is not allowed to use this API key.",
        "এই ওয়েবসাইটকে এই API কী ব্যবহারের অনুমতি দেওয়া হয়নি।",
    ),
    "scope_denied": (
        "This API key does not have the scope this request needs.",
        "এই অনুরোধের জন্য প্রয়োজনীয় অনুমতি (স্কোপ) এই API কীর নেই।",
    ),
    "internal_error": (
        "Something went wrong on our side.",
        "আমাদের দিকে একটি সমস্যা হয়েছে।",
    ),
    "service_unavailable": (
        "The service is temporarily unavailable.",
        "সেবাটি সাময়িকভাবে অনুপলব্ধ।",
    ),
    # sign-in with Google / Apple / Facebook
    "oauth_token_invalid": (
        "The sign-in token is invalid or has expired. Please sign in again.",
        "সাইন-ইন টোকেনটি অবৈধ বা এর মেয়াদ শেষ হয়ে গেছে। অনুগ্রহ করে আবার সাইন ইন করুন।",
    ),
    "oauth_provider_unavailable": (
        "The sign-in provider could not be reached. Please try again shortly.",
        "সাইন-ইন প্রদানকারীর সাথে যোগাযোগ করা যায়নি। অনুগ্রহ করে একটু পরে আবার চেষ্টা করুন।",
    ),
    "oauth_provider_disabled": (
        "Sign-in with this provider is not available.",
        "এই প্রদানকারীর মাধ্যমে সাইন ইন করার সুবিধা নেই।",
    ),
    "oauth_email_unverified": (
        "An account with this email already exists, and the sign-in provider has not verified "
        "the email. Sign in with your password instead.",
        "এই ইমেইলে ইতিমধ্যে একটি অ্যাকাউন্ট আছে, কিন্তু সাইন-ইন প্রদানকারী ইমেইলটি যাচাই "
        "করেনি। এর বদলে আপনার পাসওয়ার্ড দিয়ে সাইন ইন করুন।",
    ),
    "oauth_email_missing": (
        "The sign-in provider did not share your email address. Allow access to it and try again.",
        "সাইন-ইন প্রদানকারী আপনার ইমেইল ঠিকানা দেয়নি। ইমেইলের অনুমতি দিয়ে আবার চেষ্টা করুন।",
    ),
    # product images
    "image_empty": ("The uploaded file is empty.", "আপলোড করা ফাইলটি খালি।"),
    "image_too_large": (
        "The image file is too large. Upload a smaller file.",
        "ছবির ফাইলটি অনেক বড়। আরও ছোট একটি ফাইল আপলোড করুন।",
    ),
    "image_type_unsupported": (
        "This file is not a supported image. Upload a JPEG, PNG, WebP or AVIF image.",
        "এই ফাইলটি সমর্থিত ছবি নয়। একটি JPEG, PNG, WebP বা AVIF ছবি আপলোড করুন।",
    ),
    "image_corrupt": (
        "The image file is damaged or incomplete.",
        "ছবির ফাইলটি ত্রুটিপূর্ণ বা অসম্পূর্ণ।",
    ),
    "image_dimensions_invalid": (
        "The image has no pixels or too many. Resize it and try again.",
        "ছবিটিতে কোনো পিক্সেল নেই বা অনেক বেশি পিক্সেল আছে। আকার ছোট করে আবার চেষ্টা করুন।",
    ),
    "image_limit_reached": (
        "This product already has the most images allowed. Delete one first.",
        "এই পণ্যে ইতিমধ্যে সর্বোচ্চ সংখ্যক ছবি আছে। আগে একটি মুছে ফেলুন।",
    ),
    "image_primary_required": (
        "A product with images always has a primary image: make another image primary instead.",
        "ছবিসহ পণ্যের সবসময় একটি প্রধান ছবি থাকে: এর বদলে অন্য একটি ছবিকে প্রধান করুন।",
    ),
    "image_order_mismatch": (
        "Send the ids of all of this product's images, each exactly once.",
        "এই পণ্যের সব ছবির আইডি পাঠান, প্রতিটি ঠিক একবার।",
    ),
    # inventory
    "insufficient_stock": (
        "There is not enough stock for this change: stock on hand cannot go below what is "
        "allocated to orders.",
        "এই পরিবর্তনের জন্য যথেষ্ট স্টক নেই: হাতে থাকা স্টক অর্ডারের জন্য বরাদ্দ করা পরিমাণের চেয়ে কম হতে পারে না।",
    ),
    "variation_required": (
        "This product comes in variations: choose one of them (variation_id).",
        "এই পণ্যটির একাধিক ভ্যারিয়েশন আছে: এর একটি বেছে নিন (variation_id)।",
    ),
    "stock_still_low": (
        "The stock is still at or below its alert level; the alert closes once it recovers.",
        "স্টক এখনও সতর্কসীমার সমান বা নিচে আছে; স্টক বাড়লে সতর্কতাটি বন্ধ হবে।",
    ),
    # catalog management
    "slug_taken": (
        "This slug is already used by another item; choose a different one.",
        "এই স্লাগটি অন্য একটি আইটেমে ব্যবহৃত হচ্ছে; অন্য একটি বেছে নিন।",
    ),
    "sku_taken": (
        "This SKU is already used by another product or variation.",
        "এই SKU অন্য একটি পণ্য বা ভ্যারিয়েশনে ব্যবহৃত হচ্ছে।",
    ),
    "variation_exists": (
        "This product already has a variation with this type and value.",
        "এই পণ্যে এই ধরন ও মানের একটি ভ্যারিয়েশন ইতিমধ্যে আছে।",
    ),
    "compare_price_below_price": (
        "The compare-at price must be at least the price.",
        "তুলনামূলক মূল্য অবশ্যই বিক্রয়মূল্যের সমান বা বেশি হতে হবে।",
    ),
    "vendor_required": (
        "Choose the vendor this product belongs to.",
        "এই পণ্যটি কোন বিক্রেতার, তা বেছে নিন।",
    ),
    "category_cycle": (
        "A category cannot be moved under itself or one of its subcategories.",
        "কোনো বিভাগকে তার নিজের বা তার কোনো উপবিভাগের অধীনে সরানো যায় না।",
    ),
    "category_has_children": (
        "This category has subcategories. Move or delete them first.",
        "এই বিভাগে উপবিভাগ আছে। আগে সেগুলো সরান বা মুছে ফেলুন।",
    ),
    "category_has_products": (
        "This category has products. Move them to another category first.",
        "এই বিভাগে পণ্য আছে। আগে সেগুলো অন্য বিভাগে সরান।",
    ),
    "product_has_orders": (
        "This product appears in orders, so it cannot be deleted. Set it to draft to hide it "
        "from the store instead.",
        "এই পণ্যটি অর্ডারে আছে, তাই মুছে ফেলা যাবে না। এর বদলে স্টোর থেকে লুকাতে এটিকে খসড়া করে দিন।",
    ),
    "variation_has_stock": (
        "This variation still has stock. Stock it out with a stock adjustment first, or "
        "deactivate it.",
        "এই ভ্যারিয়েশনে এখনও স্টক আছে। আগে স্টক সমন্বয়ের মাধ্যমে স্টক শূন্য করুন, অথবা এটি নিষ্ক্রিয় করুন।",
    ),
    "product_has_own_stock": (
        "This product holds stock of its own. Bring it to zero with a stock adjustment before "
        "adding variations, which then hold the stock.",
        "এই পণ্যের নিজস্ব স্টক আছে। ভ্যারিয়েশন যোগ করার আগে স্টক সমন্বয়ের মাধ্যমে তা শূন্য "
        "করুন; এরপর স্টক ভ্যারিয়েশনগুলোতে থাকবে।",
    ),
    "variation_has_orders": (
        "This variation appears in orders, so it cannot be removed. Deactivate it instead.",
        "এই ভ্যারিয়েশনটি অর্ডারে আছে, তাই সরানো যাবে না। এর বদলে এটি নিষ্ক্রিয় করুন।",
    ),
    # fraud review
    "fraud_not_on_hold": (
        "This order is not on hold for review, so there is nothing to decide.",
        "এই অর্ডারটি যাচাইয়ের জন্য স্থগিত নয়, তাই সিদ্ধান্ত নেওয়ার কিছু নেই।",
    ),
    # carts
    "cart_token_invalid": (
        "The X-Cart-Token header is not a valid cart token.",
        "X-Cart-Token হেডারটি বৈধ কার্ট টোকেন নয়।",
    ),
    "cart_product_unavailable": (
        "This product is not available for sale right now.",
        "এই পণ্যটি এখন বিক্রির জন্য পাওয়া যাচ্ছে না।",
    ),
    # product reviews
    "review_exists": (
        "You have already reviewed this product. Edit your review instead.",
        "আপনি ইতিমধ্যে এই পণ্যের রিভিউ দিয়েছেন। এর বদলে আপনার রিভিউটি সম্পাদনা করুন।",
    ),
    "review_own_vote": (
        "You cannot mark your own review as helpful.",
        "আপনি নিজের রিভিউকে সহায়ক হিসেবে চিহ্নিত করতে পারবেন না।",
    ),
    # discounts
    "coupon_invalid": (
        "This coupon code is not valid.",
        "এই কুপন কোডটি সঠিক নয়।",
    ),
    "coupon_expired": ("This coupon has expired.", "এই কুপনের মেয়াদ শেষ হয়ে গেছে।"),
    "coupon_not_started": (
        "This coupon is not valid yet.",
        "এই কুপনটি এখনও চালু হয়নি।",
    ),
    "coupon_min_order": (
        "Your order does not reach this coupon's minimum amount.",
        "আপনার অর্ডার এই কুপনের সর্বনিম্ন পরিমাণে পৌঁছায়নি।",
    ),
    "coupon_used_up": (
        "This coupon has reached its usage limit.",
        "এই কুপনটি সর্বোচ্চ সংখ্যক বার ব্যবহার করা হয়ে গেছে।",
    ),
    "coupon_customer_limit": (
        "You have already used this coupon as many times as allowed.",
        "আপনি এই কুপনটি অনুমোদিত সংখ্যক বার ইতিমধ্যে ব্যবহার করেছেন।",
    ),
    "coupon_not_applicable": (
        "This coupon does not apply to the items in your cart.",
        "এই কুপনটি আপনার কার্টের পণ্যগুলোর জন্য প্রযোজ্য নয়।",
    ),
    "coupon_not_combinable": (
        "This coupon cannot be combined with a better discount already applied.",
        "ইতিমধ্যে প্রয়োগ করা একটি ভালো ছাড়ের সাথে এই কুপনটি একসাথে ব্যবহার করা যায় না।",
    ),
    "discount_code_taken": (
        "Another discount already uses this code.",
        "অন্য একটি ছাড় ইতিমধ্যে এই কোডটি ব্যবহার করছে।",
    ),
    # checkout placement
    "cart_empty": ("There is nothing to check out.", "চেকআউট করার মতো কিছু নেই।"),
    "out_of_stock": (
        "Some items are no longer in stock in the quantity requested.",
        "কিছু পণ্য অনুরোধ করা পরিমাণে আর স্টকে নেই।",
    ),
    "product_unavailable": (
        "Some items can no longer be ordered.",
        "কিছু পণ্য আর অর্ডার করা যাবে না।",
    ),
    "price_changed": (
        "The price changed since you saw it. Please review the new total.",
        "আপনি দেখার পর দাম বদলেছে। অনুগ্রহ করে নতুন মোট দেখে নিন।",
    ),
    "cod_limit": (
        "Cash on delivery is not available for an order this large.",
        "এত বড় অর্ডারে ক্যাশ অন ডেলিভারি পাওয়া যায় না।",
    ),
    "idempotency_key_reused": (
        "This Idempotency-Key was already used for a different order.",
        "এই Idempotency-Key আগেই অন্য একটি অর্ডারে ব্যবহার করা হয়েছে।",
    ),
    "guest_contact_required": (
        "Enter an email address or a phone number.",
        "একটি ইমেইল ঠিকানা বা ফোন নম্বর লিখুন।",
    ),
    "address_required": ("Choose a delivery address.", "একটি ডেলিভারি ঠিকানা বেছে নিন।"),
    # order status changes
    "transition_forbidden": (
        "The order cannot move from its current status to the one requested.",
        "অর্ডারটি বর্তমান অবস্থা থেকে অনুরোধ করা অবস্থায় নেওয়া যায় না।",
    ),
    # payments (lib/payments/services.py)
    "payment_not_startable": (
        "This order is not waiting for an online payment.",
        "এই অর্ডারটি অনলাইন পেমেন্টের অপেক্ষায় নেই।",
    ),
    "payment_provider_unknown": (
        "This payment method is not available.",
        "এই পেমেন্ট পদ্ধতিটি পাওয়া যায় না।",
    ),
    "payment_provider_error": (
        "The payment provider could not be reached. Please try again.",
        "পেমেন্ট প্রদানকারীর সাথে যোগাযোগ করা যায়নি। অনুগ্রহ করে আবার চেষ্টা করুন।",
    ),
    "payment_start_in_progress": (
        "This payment is already being started. Please wait a moment.",
        "এই পেমেন্টটি ইতিমধ্যে শুরু হচ্ছে। অনুগ্রহ করে একটু অপেক্ষা করুন।",
    ),
    "payment_unknown": (
        "We could not find this payment.",
        "এই পেমেন্টটি খুঁজে পাওয়া যায়নি।",
    ),
    "payment_amount_mismatch": (
        "The amount paid does not match the order.",
        "পরিশোধিত টাকার পরিমাণ অর্ডারের সাথে মেলে না।",
    ),
    "payment_not_refundable": (
        "This payment has nothing captured to refund.",
        "এই পেমেন্টে ফেরত দেওয়ার মতো কোনো টাকা নেই।",
    ),
    "refund_exceeds_captured": (
        "The refund is larger than what remains of the captured amount.",
        "ফেরতের পরিমাণ গৃহীত টাকার অবশিষ্ট অংশের চেয়ে বেশি।",
    ),
    "refund_in_progress": (
        "Another refund of this payment is in progress. Try again shortly.",
        "এই পেমেন্টের আরেকটি ফেরত প্রক্রিয়াধীন। একটু পরে আবার চেষ্টা করুন।",
    ),
    "refund_pending": (
        "A refund of this payment is waiting for the provider's confirmation. No other refund "
        "can be sent until it is confirmed or refused.",
        "এই পেমেন্টের একটি ফেরত প্রোভাইডারের নিশ্চিতকরণের অপেক্ষায় আছে। সেটি নিশ্চিত বা "
        "প্রত্যাখ্যাত না হওয়া পর্যন্ত আর কোনো ফেরত পাঠানো যাবে না।",
    ),
    "refund_not_pending": (
        "This refund is no longer waiting for its provider: it is already settled.",
        "এই ফেরতটি আর প্রোভাইডারের অপেক্ষায় নেই: এটি ইতিমধ্যে নিষ্পন্ন হয়েছে।",
    ),
    "refund_refused": (
        "The payment provider refused the refund. Nothing was refunded.",
        "পেমেন্ট প্রোভাইডার ফেরতটি প্রত্যাখ্যান করেছে। কোনো টাকা ফেরত যায়নি।",
    ),
    "refund_failed": (
        "This refund was not made: the provider refused it or never received it. Nothing was "
        "refunded; a new request may be sent.",
        "এই ফেরতটি হয়নি: প্রোভাইডার এটি প্রত্যাখ্যান করেছে বা পায়নি। কোনো টাকা ফেরত যায়নি; নতুন অনুরোধ পাঠানো যাবে।",
    ),
    "cod_not_applicable": (
        "This order is not a cash-on-delivery order that can be marked paid.",
        "এই অর্ডারটি পরিশোধিত হিসেবে চিহ্নিত করার মতো ক্যাশ অন ডেলিভারি অর্ডার নয়।",
    ),
    # couriers (lib/couriers/)
    "courier_unknown": (
        "This courier is not available.",
        "এই কুরিয়ারটি পাওয়া যায় না।",
    ),
    "courier_unavailable": (
        "The courier could not be reached or is not set up. Please try again shortly.",
        "কুরিয়ারের সাথে যোগাযোগ করা যায়নি বা এটি চালু করা হয়নি। অনুগ্রহ করে একটু পরে আবার চেষ্টা করুন।",
    ),
    "courier_refused": (
        "The courier refused the request. Nothing was booked or changed.",
        "কুরিয়ার অনুরোধটি প্রত্যাখ্যান করেছে। কিছুই বুক বা পরিবর্তন করা হয়নি।",
    ),
    "courier_unsupported": (
        "The courier offers no API for this. Do it in the courier's merchant panel.",
        "কুরিয়ার এর জন্য কোনো API দেয় না। কুরিয়ারের মার্চেন্ট প্যানেলে এটি করুন।",
    ),
    "consignment_not_bookable": (
        "Only orders being processed (packed) can be booked with a courier.",
        "শুধু প্রস্তুত (প্যাক করা) অর্ডারই কুরিয়ারে বুক করা যায়।",
    ),
    "consignment_exists": (
        "This order is already booked with another courier. Cancel that booking first.",
        "এই অর্ডারটি ইতিমধ্যে অন্য কুরিয়ারে বুক করা আছে। আগে সেই বুকিং বাতিল করুন।",
    ),
    "consignment_booking_in_progress": (
        "This order is being booked with the courier right now. Please wait a moment.",
        "এই অর্ডারটি এখন কুরিয়ারে বুক করা হচ্ছে। অনুগ্রহ করে একটু অপেক্ষা করুন।",
    ),
    "consignment_not_cancellable": (
        "This consignment can no longer be cancelled: the courier has picked it up.",
        "এই কনসাইনমেন্টটি আর বাতিল করা যায় না: কুরিয়ার এটি সংগ্রহ করেছে।",
    ),
    "courier_booking_unconfirmed": (
        "The courier did not confirm this booking: it may or may not have made the parcel. "
        "It is settled when the courier reports the parcel, or release it after checking the "
        "courier's panel.",
        "কুরিয়ার এই বুকিং নিশ্চিত করেনি: পার্সেলটি তৈরি হয়ে থাকতেও পারে, না-ও পারে। কুরিয়ার "
        "পার্সেলটির খবর দিলে এটি মিটে যাবে, অথবা কুরিয়ারের প্যানেল দেখে বুকিংটি ছেড়ে দিন।",
    ),
    "consignment_not_unconfirmed": (
        "Only a booking the courier did not confirm can be released.",
        "শুধু কুরিয়ার নিশ্চিত করেনি এমন বুকিংই ছেড়ে দেওয়া যায়।",
    ),
    "webhook_unauthenticated": (
        "The webhook's secret or token is missing or wrong.",
        "ওয়েবহুকের সিক্রেট বা টোকেন নেই অথবা ভুল।",
    ),
    # bKash (lib/payments/bkash.py)
    "bkash_not_configured": (
        "bKash payments are not configured.",
        "বিকাশ পেমেন্ট চালু করা হয়নি।",
    ),
    "bkash_unavailable": (
        "bKash did not answer in time. Please try again.",
        "বিকাশ সময়মতো সাড়া দেয়নি। অনুগ্রহ করে আবার চেষ্টা করুন।",
    ),
    "bkash_auth_failed": (
        "bKash refused our merchant credentials.",
        "বিকাশ আমাদের মার্চেন্ট তথ্য গ্রহণ করেনি।",
    ),
    "bkash_rejected": (
        "bKash declined the request.",
        "বিকাশ অনুরোধটি প্রত্যাখ্যান করেছে।",
    ),
    "bkash_bad_callback": (
        "The bKash return is missing its payment id.",
        "বিকাশ থেকে ফেরার তথ্যে পেমেন্ট আইডি নেই।",
    ),
    # Upay
    "upay_unavailable": (
        "Upay could not be reached. Please try again shortly.",
        "উপায়-এর সাথে যোগাযোগ করা যায়নি। অনুগ্রহ করে কিছুক্ষণ পরে আবার চেষ্টা করুন।",
    ),
    "upay_rejected": (
        "Upay refused the payment request.",
        "উপায় পেমেন্টের অনুরোধটি গ্রহণ করেনি।",
    ),
    "upay_auth_failed": (
        "Upay did not accept the shop's merchant credentials.",
        "উপায় দোকানের মার্চেন্ট তথ্য গ্রহণ করেনি।",
    ),
    "upay_duplicate_txn": (
        "Upay already has a payment with this transaction id.",
        "এই লেনদেন আইডি দিয়ে উপায়-এ ইতিমধ্যে একটি পেমেন্ট আছে।",
    ),
    "upay_bad_callback": (
        "The Upay return is missing its invoice id.",
        "উপায় থেকে ফেরার তথ্যে ইনভয়েস আইডি নেই।",
    ),
    # addresses and shipping
    "address_limit_reached": (
        "You have saved the most addresses allowed. Delete one first.",
        "আপনি সর্বোচ্চ সংখ্যক ঠিকানা সংরক্ষণ করেছেন। আগে একটি মুছে ফেলুন।",
    ),
    "shipping_unavailable": (
        "We cannot deliver to this district yet.",
        "এই জেলায় আমরা এখনও ডেলিভারি দিতে পারি না।",
    ),
    # SMS
    "sms_already_sent": (
        "This SMS was already sent; it is not sent again.",
        "এই এসএমএসটি আগেই পাঠানো হয়েছে; আবার পাঠানো হবে না।",
    ),
    # SSLCommerz (and Rocket through it)
    "sslcommerz_signature_invalid": (
        "The SSLCommerz notification's signature is missing or invalid.",
        "এসএসএলকমার্জ নোটিফিকেশনের স্বাক্ষর নেই বা সঠিক নয়।",
    ),
    "sslcommerz_mismatch": (
        "SSLCommerz reports a different amount, currency or transaction than this payment.",
        "এসএসএলকমার্জ এই পেমেন্টের চেয়ে ভিন্ন পরিমাণ, মুদ্রা বা লেনদেন জানাচ্ছে।",
    ),
    "sslcommerz_unavailable": (
        "SSLCommerz is not responding. Please try again shortly.",
        "এসএসএলকমার্জ সাড়া দিচ্ছে না। অনুগ্রহ করে একটু পরে আবার চেষ্টা করুন।",
    ),
    "sslcommerz_refused": (
        "SSLCommerz refused the request.",
        "এসএসএলকমার্জ অনুরোধটি প্রত্যাখ্যান করেছে।",
    ),
    "sslcommerz_refund_refused": (
        "SSLCommerz refused the refund.",
        "এসএসএলকমার্জ রিফান্ডটি প্রত্যাখ্যান করেছে।",
    ),
    # analytics
    "analytics_range_invalid": (
        "The date range is invalid: `from` must not be after `to`, and it may span at most "
        "1098 days.",
        "তারিখের পরিসর সঠিক নয়: `from` তারিখ `to`-এর পরে হতে পারবে না, এবং পরিসর সর্বোচ্চ "
        "১০৯৮ দিনের হতে পারে।",
    ),
    # live chat
    "chat_token_invalid": (
        "The chat token is not valid.",
        "চ্যাট টোকেনটি সঠিক নয়।",
    ),
    "chat_closed": (
        "This conversation is closed. Open a new one to write to us.",
        "এই কথোপকথনটি বন্ধ হয়ে গেছে। আমাদের লিখতে নতুন একটি শুরু করুন।",
    ),
    "chat_message_empty": (
        "Write a message or attach a file.",
        "একটি বার্তা লিখুন অথবা একটি ফাইল সংযুক্ত করুন।",
    ),
    "chat_message_too_long": (
        "The message is too long.",
        "বার্তাটি খুব দীর্ঘ।",
    ),
    "chat_attachment_empty": ("The file is empty.", "ফাইলটি খালি।"),
    "chat_attachment_too_large": ("The file is too large.", "ফাইলটি খুব বড়।"),
    "chat_attachment_type_unsupported": (
        "Attach a JPEG, PNG, WebP or AVIF image or a PDF document.",
        "একটি JPEG, PNG, WebP বা AVIF ছবি অথবা একটি PDF ফাইল সংযুক্ত করুন।",
    ),
    "chat_attachment_corrupt": (
        "The file is damaged or incomplete.",
        "ফাইলটি ক্ষতিগ্রস্ত বা অসম্পূর্ণ।",
    ),
    "chat_assigned_elsewhere": (
        "Another team member is already answering this conversation.",
        "দলের আরেকজন সদস্য ইতিমধ্যে এই কথোপকথনের উত্তর দিচ্ছেন।",
    ),
    "chat_assignee_invalid": (
        "Conversations can only be assigned to support team members.",
        "কথোপকথন শুধু সাপোর্ট দলের সদস্যদের দেওয়া যায়।",
    ),
    "chatbot_conversation_unknown": (
        "This chat session is unknown or has expired.",
        "এই চ্যাট সেশনটি অজানা বা এর মেয়াদ শেষ হয়েছে।",
    ),
    # Loyalty points, referrals and affiliates
    "points_sign_in_required": (
        "Sign in to use loyalty points.",
        "লয়্যালটি পয়েন্ট ব্যবহার করতে সাইন ইন করুন।",
    ),
    "points_below_minimum": (
        "Your points balance is below the minimum needed to redeem.",
        "আপনার পয়েন্ট ব্যালান্স রিডিম করার ন্যূনতম পরিমাণের কম।",
    ),
    "points_insufficient": (
        "You do not have that many points.",
        "আপনার এত পয়েন্ট নেই।",
    ),
    "points_over_limit": (
        "That is more points than this order may use.",
        "এই অর্ডারে এত পয়েন্ট ব্যবহার করা যায় না।",
    ),
    "referral_code_invalid": (
        "This referral code does not exist.",
        "এই রেফারেল কোডটি নেই।",
    ),
    "referral_self": (
        "You cannot use your own referral code.",
        "আপনি নিজের রেফারেল কোড ব্যবহার করতে পারবেন না।",
    ),
    "referral_too_late": (
        "A referral code can only be used before your first order.",
        "রেফারেল কোড শুধু প্রথম অর্ডারের আগে ব্যবহার করা যায়।",
    ),
    "referral_exists": (
        "You have already used a referral code.",
        "আপনি ইতিমধ্যে একটি রেফারেল কোড ব্যবহার করেছেন।",
    ),
    "affiliate_exists": (
        "You have already applied to the affiliate programme.",
        "আপনি ইতিমধ্যে অ্যাফিলিয়েট প্রোগ্রামে আবেদন করেছেন।",
    ),
    "affiliate_not_pending": (
        "This affiliate is not waiting for a decision.",
        "এই অ্যাফিলিয়েট সিদ্ধান্তের অপেক্ষায় নেই।",
    ),
    "commission_not_payable": (
        "Some commissions are not approved, belong to another affiliate or are paid already.",
        "কিছু কমিশন অনুমোদিত নয়, অন্য অ্যাফিলিয়েটের, অথবা ইতিমধ্যে পরিশোধিত।",
    ),
    # marketplace: vendor onboarding, members, payouts
    "vendor_slug_taken": (
        "Another shop already uses this web address (slug). Choose another.",
        "অন্য একটি দোকান এই ওয়েব ঠিকানা (স্লাগ) ব্যবহার করছে। অন্যটি বেছে নিন।",
    ),
    "vendor_application_open": (
        "You already have an application waiting for review.",
        "আপনার একটি আবেদন ইতিমধ্যে পর্যালোচনার অপেক্ষায় আছে।",
    ),
    "vendor_application_decided": (
        "This application has already been decided.",
        "এই আবেদনের সিদ্ধান্ত ইতিমধ্যে নেওয়া হয়েছে।",
    ),
    "vendor_status_unchanged": (
        "The shop is not in a state that allows this change.",
        "দোকানটি এমন অবস্থায় নেই যেখানে এই পরিবর্তন করা যায়।",
    ),
    "vendor_member_unknown_user": (
        "No active account has this email address or phone number.",
        "এই ইমেইল ঠিকানা বা ফোন নম্বরে কোনো সক্রিয় অ্যাকাউন্ট নেই।",
    ),
    "vendor_member_exists": (
        "This person is already a member of the shop.",
        "এই ব্যক্তি ইতিমধ্যে দোকানের সদস্য।",
    ),
    "vendor_last_owner": (
        "A shop needs at least one owner: add another owner first.",
        "দোকানে অন্তত একজন মালিক থাকতে হবে: আগে আরেকজন মালিক যোগ করুন।",
    ),
    "payout_exceeds_balance": (
        "The payout is larger than the shop's balance.",
        "পেআউটের পরিমাণ দোকানের ব্যালান্সের চেয়ে বেশি।",
    ),
    # store settings, maintenance and activity monitoring (lib/site, lib/activity)
    "maintenance": (
        "The store is down for maintenance. Please try again soon.",
        "রক্ষণাবেক্ষণের জন্য স্টোর সাময়িকভাবে বন্ধ। অনুগ্রহ করে একটু পরে আবার চেষ্টা করুন।",
    ),
    "cod_unavailable": (
        "Cash on delivery is not available right now. Please choose another way to pay.",
        "এই মুহূর্তে ক্যাশ অন ডেলিভারি পাওয়া যাচ্ছে না। অনুগ্রহ করে অন্য উপায়ে পরিশোধ করুন।",
    ),
    "activity_range_invalid": (
        "The start of the time range must come before its end.",
        "সময়সীমার শুরু অবশ্যই শেষের আগে হতে হবে।",
    ),
    # notifications (lib/notifications)
    "notification_preference_locked": (
        "Account and security emails cannot be turned off.",
        "অ্যাকাউন্ট ও নিরাপত্তা বিষয়ক ইমেইল বন্ধ করা যায় না।",
    ),
    "push_subscription_invalid": (
        "The push subscription is not valid: send the endpoint and the browser's p256dh and "
        "auth keys as the Push API gives them.",
        "পুশ সাবস্ক্রিপশনটি সঠিক নয়: ব্রাউজারের দেওয়া endpoint, p256dh ও auth কী পাঠান।",
    ),
}

STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """A failure the caller can act on; rendered as the JSON error envelope."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        *,
        status: int | None = None,
        message: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self.code = code or self.code
        self.status_code = status or self.status_code
        self.message = message
        self.fields = fields or {}
        super().__init__(message or self.code)


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


def translate(code: str, language: Language) -> str:
    english, bangla = MESSAGES.get(code, MESSAGES["bad_request"])
    return bangla if language == "bn" else english


def code_for_status(status: int) -> str:
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    return "internal_error" if status >= 500 else "bad_request"


def error_response(
    request: HttpRequest,
    status: int,
    code: str | None = None,
    *,
    message: str | None = None,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    code = code or code_for_status(status)
    body = {
        "error": {
            "code": code,
            "message": message or translate(code, request_language(request)),
            "fields": fields or {},
            "request_id": getattr(request, "id", None),
        }
    }
    return JsonResponse(
        body, status=status, headers=headers, json_dumps_params={"ensure_ascii": False}
    )


REQUEST_PARTS = {"body", "query", "path", "header", "cookie", "form", "file"}


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Turn ninja/pydantic errors into `{"field.path": ["message", ...]}`.

    Ninja locates errors as `("body", "<parameter>", "field", ...)` or `("query", "field")`.
    """
    fields: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in REQUEST_PARTS:
            location = location[2:] if location[0] == "body" else location[1:]
        key = ".".join(location) or "__all__"
        fields.setdefault(key, []).append(str(error.get("msg", "Invalid value")))
    return fields
