"""Reports as CSV: streamed row by row, named for download, amounts as plain decimals."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

from lib.analytics.selectors import (
    Period,
)

FIGURE_COLUMNS = (
    "orders",
    "units",
    "revenue",
    "discounts",
    "shipping",
    "refunds",
    "net_revenue",
    "average_order_value",
    "new_customers",
    "returning_customers",
)
REPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "sales": ("period", *FIGURE_COLUMNS),
    "products": ("product_id", "sku", "name_en", "name_bn", "units", "orders", "revenue"),
    "categories": ("category_id", "name_en", "name_bn", "units", "orders", "revenue"),
    "payment-methods": ("method", "orders", "revenue", "share_percent"),
}


class Echo:
    """A file-like object whose `write` hands the line back, for `csv.writer`."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value.as_tuple().exponent == -2 else str(value)
    return "" if value is None else str(value)


def csv_lines(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield "\ufeff"  # a byte order mark, so spreadsheet programs read the Bangla names as UTF-8
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([cell(row.get(column)) for column in columns])


def csv_response(
    *, report: str, rows: Iterable[dict[str, Any]], period: Period, scope: str
) -> StreamingHttpResponse:
    """`report`'s rows as a streamed CSV download named after the report, scope and range."""
    filename = f"zest-{report}-{scope}-{period.date_from}-{period.date_to}.csv"
    response = StreamingHttpResponse(
        csv_lines(REPORT_COLUMNS[report], rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def scope_label(vendor_ids: tuple[str, ...] | None) -> str:
    if vendor_ids is None:
        return "shop"
    return "vendor-" + "-".join(vendor_id[:8] for vendor_id in vendor_ids) if vendor_ids else "none"
