"""Cursor pagination: opaque cursors over ``(created_at, id)``, the order every list uses.

Every list is backed by an index ending in ``(created_at, id)``, so a page is an index range
scan whatever its offset: the cursor carries the last row's sort key, never an offset.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from reference_api.domain.errors import BadUserInputError

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class Sortable(Protocol):
    """Anything listed: it sorts by creation time, then id."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def created_at(self) -> dt.datetime: ...


T = TypeVar("T", bound=Sortable)


@dataclass(frozen=True, slots=True)
class SortKey:
    """A sort key that is not an item's own (Query.workspaces pages by membership)."""

    id: uuid.UUID
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Cursor:
    """The sort key of the last item a client has seen."""

    created_at: dt.datetime
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``first`` items after ``after`` (``None``: from the start)."""

    first: int
    after: Cursor | None


def encode_cursor(item: Sortable) -> str:
    """The opaque cursor of ``item`` (URL-safe base64; clients must not parse it)."""
    raw = f"{item.created_at.isoformat()}|{item.id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(value: str, *, field: str = "after") -> Cursor:
    """The cursor a client sent back; anything we did not produce is ``BadUserInputError``."""
    try:
        created_at, _, item_id = (
            base64.urlsafe_b64decode(value.encode("ascii")).decode().partition("|")
        )
        cursor = Cursor(dt.datetime.fromisoformat(created_at), uuid.UUID(item_id))
    except (ValueError, UnicodeError, binascii.Error):
        raise BadUserInputError("is not a valid cursor", field=field) from None
    if cursor.created_at.tzinfo is None:
        raise BadUserInputError("is not a valid cursor", field=field)
    return cursor


def page_request(first: int | None, after: str | None) -> PageRequest:
    """Validate ``first``/``after``; ``first`` above ``MAX_PAGE_SIZE`` is capped to it."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0:
        raise BadUserInputError("must not be negative", field="first")
    return PageRequest(
        first=min(size, MAX_PAGE_SIZE), after=None if after is None else decode_cursor(after)
    )


@dataclass(frozen=True, slots=True)
class Edge(Generic[T]):
    """One item of a page with its cursor."""

    cursor: str
    node: T


@dataclass(frozen=True, slots=True)
class PageInfo:
    """Whether there is more after this page, and where to continue."""

    has_next_page: bool
    end_cursor: str | None


@dataclass(frozen=True, slots=True)
class Connection(Generic[T]):
    """A page of a list, loaded only as far as the client asks: ``totalCount`` alone runs
    the count query, never the page query, and the other way round.

    ``fetch`` returns up to ``first + 1`` items (the extra one means "there is more"); both
    callables go through data loaders, so calling them twice costs nothing.
    """

    request: PageRequest
    fetch: Callable[[], Awaitable[Sequence[T]]]
    count: Callable[[], Awaitable[int]]
    cursor_of: Callable[[T], str] = encode_cursor

    async def edges(self) -> list[Edge[T]]:
        rows = await self.fetch()
        return [Edge(cursor=self.cursor_of(item), node=item) for item in rows[: self.request.first]]

    async def page_info(self) -> PageInfo:
        rows = await self.fetch()
        page = rows[: self.request.first]
        return PageInfo(
            has_next_page=len(rows) > self.request.first,
            end_cursor=self.cursor_of(page[-1]) if page else None,
        )

    async def total_count(self) -> int:
        return await self.count()
