"""The SMS simulator's pages: every number that received messages, and one number's inbox
(newest first, Bangla rendered, refreshed every few seconds so a code shows up by itself)."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from devtools.wsgi_server import StartResponse, status_line

STYLE = "body{font-family:system-ui,'Noto Sans Bengali',sans-serif;max-width:40em;margin:2em}"


def index_page(messages: list[dict[str, Any]], balance: Decimal) -> str:
    counts: dict[str, int] = {}
    for message in messages:
        counts[message["to"]] = counts.get(message["to"], 0) + 1
    rows = "".join(
        f'<li><a href="/inbox/{quote(number)}">+{html.escape(number)}</a> ({count})</li>'
        for number, count in sorted(counts.items())
    )
    return (
        "<h1>SMS simulator</h1><p>SSL Wireless, sms.net.bd and BulkSMSBD messages land here."
        f" Balance: ৳{balance}.</p><ul>{rows or '<li>No messages yet.</li>'}</ul>"
    )


def inbox_page(to: str, messages: list[dict[str, Any]]) -> str:
    cards = "".join(
        f"<article><p><small>{html.escape(m['received_at'])} via {m['provider']}"
        f" ({m['encoding']}, {m['segments']} part(s))</small></p>"
        f'<p lang="{"en" if m["encoding"] == "GSM-7" else "bn"}">'
        f"{html.escape(m['text']).replace(chr(10), '<br>')}</p></article>"
        for m in reversed(messages)
    )
    return (
        f'<p><a href="/">All numbers</a></p><h1>Inbox of +{html.escape(to)}</h1>'
        f"{cards or '<p>No messages.</p>'}"
    )


def html_response(start_response: StartResponse, status: int, body: str) -> list[bytes]:
    data = (
        '<!doctype html><meta charset=utf-8><meta http-equiv="refresh" content="5">'
        f"<title>SMS simulator</title><style>{STYLE}</style>{body}"
    ).encode()
    start_response(
        status_line(status),
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]
