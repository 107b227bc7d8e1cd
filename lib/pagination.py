"""Pagination: page numbers with the totals a pager needs, and opaque keyset cursors.

Page numbers suit a pager ("page 3 of 12"); a cursor suits infinite scroll and deep pages: it
holds the sort key of the last item seen, so the next page starts right after that item
however many rows were inserted or deleted meanwhile, and costs the same at any depth.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

from django.db.models import Q, QuerySet
from ninja import Field, Schema
from pydantic import model_validator

from lib.errors import ApiError

MAX_PAGE_SIZE = 100
MAX_CURSOR_LENGTH = 1000


class PageParams(Schema):
    page: int = Field(1, ge=1, description="1-based page number")
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description="Items per page (max 100)")


def paginate(queryset: QuerySet, params: PageParams) -> dict[str, Any]:
    count = queryset.count()
    offset = (params.page - 1) * params.page_size
    items = list(queryset[offset : offset + params.page_size]) if offset < count else []
    return {
        "items": items,
        "count": count,
        "page": params.page,
        "page_size": params.page_size,
        "pages": math.ceil(count / params.page_size) if count else 0,
    }


# --- keyset cursors ----------------------------------------------------------------------


class CursorPageParams(PageParams):
    cursor: str | None = Field(
        None,
        max_length=MAX_CURSOR_LENGTH,
        description="Opaque `next_cursor` of a previous response: the page after it, in the "
        "same ordering. Stable while products are added or removed; leave `page` out with it.",
    )

    @model_validator(mode="after")
    def cursor_or_page(self) -> CursorPageParams:
        if self.cursor is not None and self.page != 1:
            raise ValueError("Send either a page number or a cursor, not both.")
        return self


KeyKind = Literal["decimal", "datetime", "float", "int", "str", "uuid"]


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column of a keyset ordering: a field or annotation of the queryset."""

    name: str
    kind: KeyKind
    descending: bool = False

    @property
    def order_by(self) -> str:
        return f"-{self.name}" if self.descending else self.name


@dataclass(frozen=True, slots=True)
class KeysetOrdering:
    """A total order: `keys` must end with a unique column (the primary key). `tag` names the
    ordering inside its cursors, so a cursor of one ordering is refused by another."""

    tag: str
    keys: tuple[SortKey, ...]

    @property
    def order_by(self) -> list[str]:
        return [key.order_by for key in self.keys]


def invalid_cursor(message: str) -> ApiError:
    return ApiError("validation_error", status=422, fields={"cursor": [message]})


def cursor_value_dump(value: Any) -> Any:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value  # float, int, str: JSON keeps them exactly (floats round-trip by repr)


def cursor_value_load(kind: KeyKind, raw: Any) -> Any:
    if kind == "str" and isinstance(raw, str):
        return raw
    if kind == "int" and type(raw) is int:
        return raw
    if kind == "float" and type(raw) in (int, float) and math.isfinite(raw):
        return float(raw)
    if kind == "decimal" and isinstance(raw, str):
        value = Decimal(raw)
        if value.is_finite():
            return value
    if kind == "datetime" and isinstance(raw, str):
        value = datetime.fromisoformat(raw)
        if value.tzinfo is not None:
            return value
    if kind == "uuid" and isinstance(raw, str):
        return UUID(raw)
    raise ValueError(f"not a {kind}")


def cursor_encode(ordering: KeysetOrdering, item: Any) -> str:
    values = [cursor_value_dump(getattr(item, key.name)) for key in ordering.keys]
    payload = json.dumps({"o": ordering.tag, "k": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def cursor_decode(ordering: KeysetOrdering, cursor: str) -> list[Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        raw = payload["k"]
        tag = payload["o"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise invalid_cursor("This cursor is not valid.") from None
    if tag != ordering.tag:
        raise invalid_cursor("This cursor belongs to another ordering.")
    if not isinstance(raw, list) or len(raw) != len(ordering.keys):
        raise invalid_cursor("This cursor is not valid.")
    try:
        return [cursor_value_load(k.kind, v) for k, v in zip(ordering.keys, raw, strict=True)]
    except (ValueError, TypeError, InvalidOperation):
        raise invalid_cursor("This cursor is not valid.") from None


def keyset_after(ordering: KeysetOrdering, values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in `ordering`: (k1 > v1) or (k1 = v1 and k2 > v2) or ...
    with < for descending keys. Works with mixed directions, unlike a row comparison."""
    branches, equal = [], Q()
    for key, value in zip(ordering.keys, values, strict=True):
        lookup = "lt" if key.descending else "gt"
        branches.append(equal & Q(**{f"{key.name}__{lookup}": value}))
        equal &= Q(**{key.name: value})
    return functools.reduce(operator.or_, branches)


def paginate_keyset(
    queryset: QuerySet,
    params: CursorPageParams,
    *,
    ordering: KeysetOrdering,
    count_queryset: QuerySet | None = None,
) -> dict[str, Any]:
    """A page by number (with `next_cursor` to go on by cursor) or the page after `cursor`.
    Two queries either way: the total (of `count_queryset` when given: the same rows without
    the joins only the page needs) and the page."""
    after = None if params.cursor is None else cursor_decode(ordering, params.cursor)
    queryset = queryset.order_by(*ordering.order_by)
    count = (queryset if count_queryset is None else count_queryset).count()
    size = params.page_size
    if after is None:
        offset = (params.page - 1) * size
        items = list(queryset[offset : offset + size]) if offset < count else []
        more = offset + len(items) < count
        page: int | None = params.page
    else:
        items = list(queryset.filter(keyset_after(ordering, after))[: size + 1])
        more = len(items) > size
        items = items[:size]
        page = None
    return {
        "items": items,
        "count": count,
        "page": page,
        "page_size": size,
        "pages": math.ceil(count / size) if count else 0,
        "next_cursor": cursor_encode(ordering, items[-1]) if more and items else None,
    }
