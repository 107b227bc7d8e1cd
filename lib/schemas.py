"""Shapes every function's API shares: the base of request bodies, the error envelope, and
the request headers some operations read (declared as header parameters, so the API docs
let a developer enter them)."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Header, Schema
from pydantic import ConfigDict, StringConstraints


class InputSchema(Schema):
    """The base of every request body: an unknown field is refused (422 `validation_error`
    naming it) instead of being dropped without a word. Responses keep ignoring extras."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetailOut(Schema):
    code: str = Field(..., description="Stable, machine-readable: `validation_error`, ...")
    message: str = Field(..., description="For people, in the caller's language")
    fields: dict[str, Any] = Field(
        ..., description="Per field (or header) what is wrong with it; `{}` when none"
    )
    request_id: str | None = Field(None, description="Quote it when asking for support")


class ErrorOut(Schema):
    """Every failure, whatever the status: `{"error": {"code", "message", "fields"}}`."""

    error: ErrorDetailOut


# The largest value an `integer` column holds (PostgreSQL and SQLite alike): counts a client
# sends are bounded by it in the schema, so the refusal names the field (the database's own
# refusal, 422 `value_out_of_range`, cannot).
INT32_MAX = 2_147_483_647
PositiveCount = Annotated[int, Field(ge=1, le=INT32_MAX)]

IDEMPOTENCY_KEY = "Idempotency-Key"
CART_TOKEN = "X-Cart-Token"  # noqa: S105 - a header name

IdempotencyKey = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=128)],
    Header(
        ...,
        alias=IDEMPOTENCY_KEY,
        description="8-128 characters, new for each action (a UUID): a retry with the same "
        "key returns the first answer and changes nothing twice",
        examples=["3f1c9b0e-5d2a-4e8b-9a61-0c7d2f4e8b13"],
    ),
]
CartToken = Annotated[
    str | None,
    Header(
        None,
        alias=CART_TOKEN,
        description="A guest's cart: the `token` the first add to the cart returned",
    ),
]
