"""Query and path parameter types shared by every REST list and lookup.

Each bound comes from :mod:`app.domain.limits`, so a page's offset or size the database
could not take (``offset=2**63`` overflows a 64-bit integer) is answered 422
``validation_error`` with the error envelope, and the bounds are published in the OpenAPI
schema (``minimum``/``maximum``/``maxLength``). A day asked for is held to
``FIRST_DAY``..``LAST_DAY`` the same way: a day at the end of the calendar (9999-12-31)
has no next midnight and a store's local midnight of 0001-01-01 can fall before year 1 in
UTC, so such a day would overflow, not be "no figures".
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

from app.domain.limits import ID_LENGTH, MAX_OFFSET, MAX_PAGE

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET,
                              description=f"rows to skip (0 to {MAX_OFFSET:,})")]
"""``?offset=``: rows of the list to skip."""

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE,
                             description=f"rows in the page (1 to {MAX_PAGE})")]
"""``?limit=``: rows in one page; each endpoint sets its default."""

StoreFilter = Annotated[str | None, Query(max_length=ID_LENGTH,
                                          description="only this store (its id)")]
"""``?store_id=``: only rows of this store."""

StatusFilter = Annotated[str | None, Query(max_length=20,
                                           description="only rows in this status; empty: all")]

IdPath = Annotated[str, Path(min_length=1, max_length=ID_LENGTH,
                             description="the id (a UUID, 36 characters)")]
"""An entity id in a path; longer than a UUID is 422, an unknown one 404."""

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"a day from {FIRST_DAY} to {LAST_DAY}")
    return day


Day = Annotated[date, AfterValidator(_in_range)]
"""A calendar day in a query (``YYYY-MM-DD``), ``FIRST_DAY`` to ``LAST_DAY``; outside is
422 ``validation_error`` naming the parameter."""
