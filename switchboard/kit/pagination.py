"""Keyset pagination: an opaque cursor holding the last sort key, stable under concurrent inserts."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import Query

from switchboard.errors import BadRequest
from switchboard.kit.criteria import Criterion, Signature, escape_like
from switchboard.kit.schemas import ListPage

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# Upper bound for a prefix range: sorts after every character (byte-wise on both engines).
PREFIX_END = "\U0010ffff"

# The query parameters of every list: how many rows a page holds, and the cursor it starts after.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=400)]
# APIO's deletes of what holds something (a tenant, a group, a reseller).
DeleteNonEmpty = Annotated[
    bool,
    Query(
        alias="deleteNonEmpty",
        description="1: delete it with what it holds (as APIO does); 0 or absent: 409 if it holds anything.",
    ),
]


# (idPrefix, namePrefix, search, the criteria); with where a page starts or ends first.
Filters = tuple[bool, bool, bool, Signature]
Variant = tuple[bool, bool, bool, bool, bool, Signature]


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: str | None  # sort key of the last row of the previous page
    id_prefix: str | None
    name_prefix: str | None
    # The console's: a search box (an id prefix or a name fragment), and a page read backwards
    # from its end (a "previous page" link holds the sort key of the first row it came from).
    search: str | None = None
    before: str | None = None
    # APIO's criteria (insensitiveUserIdContains=..., externalId1=...), ANDed: see kit/criteria.
    criteria: tuple[Criterion, ...] = ()

    @property
    def filters(self) -> Filters:
        """Which filters are on (they decide the total): one compiled count per combination."""
        matched = tuple(c.signature for c in self.criteria)
        return (self.id_prefix is not None, self.name_prefix is not None, self.search is not None, matched)

    @property
    def variant(self) -> Variant:
        """Where the page starts or ends, and the filters: one compiled statement per combination."""
        return (self.after is not None, self.before is not None, *self.filters)

    def params(self) -> dict[str, object]:
        params: dict[str, object] = {"limit": self.limit + 1}
        if self.after is not None:
            params["after"] = self.after
        if self.before is not None:
            params["before"] = self.before
        if self.search is not None:
            params["search_prefix"] = like_prefix(self.search)
            params["search_contains"] = "%" + like_prefix(self.search)
        if self.id_prefix is not None:
            params["id_from"] = self.id_prefix
            params["id_to"] = self.id_prefix + PREFIX_END
        if self.name_prefix is not None:
            params["name_like"] = like_prefix(self.name_prefix)
        for criterion in self.criteria:
            params[criterion.param] = criterion.bound()
        return params


def is_number(text: str) -> bool:
    """ASCII digits that fit a 64-bit integer (str.isdigit alone admits '²', which int() refuses,
    and numbers no database column can bind)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def like_prefix(prefix: str) -> str:
    return escape_like(prefix.lower()) + "%"


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([sort_key])).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise BadRequest.field("cursor", "is not a cursor returned by this list") from exc
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)):
        raise BadRequest.field("cursor", "is not a cursor returned by this list")
    return value[0]


def page_request(
    limit: int, cursor: str | None, id_prefix: str | None, name_prefix: str | None
) -> PageRequest:
    return PageRequest(
        limit=limit,
        after=decode_cursor(cursor) if cursor else None,
        id_prefix=id_prefix.lower() if id_prefix else None,
        name_prefix=name_prefix if name_prefix else None,
    )


def row_id(cursor: str | None) -> int | None:
    """The row id a list ordered by id carries in its cursor (None: the first page); a cursor
    holding anything else is not one of its own."""
    if not cursor:
        return None
    if not is_number(cursor):
        raise BadRequest.field("cursor", "is not a cursor returned by this list")
    return int(cursor)


def number_after(request: PageRequest) -> int | None:
    """The row id after which a page of a list ordered by id starts (or, newest first, before
    which it ends)."""
    return row_id(request.after)


def page_body(
    listing: type[ListPage], rows: list[dict[str, object]], request: PageRequest, total: int
) -> dict[str, object]:
    """Cut the look-ahead row and build the list's {key: [...], total, nextCursor}; rows carry
    their sort key."""
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    next_cursor = encode_cursor(str(rows[-1]["_sort"])) if more and rows else None
    for row in rows:
        del row["_sort"]
    return listing.body(rows, total, next_cursor)


def decode_pk_cursor(cursor: str | None) -> int | None:
    """The row id a keyset-on-pk list's opaque cursor carries (None: the first page)."""
    return row_id(decode_cursor(cursor)) if cursor else None
