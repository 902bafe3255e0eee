"""Request-scoped dependencies: the unit of work of one request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from shelfbridge.core.database import Database

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/problem+json": {}}}
    for status, description in (
        (400, "Bad request"),
        (401, "Sign-in required"),
        (403, "Not allowed"),
        (404, "Not found"),
        (409, "Conflict"),
        (422, "Validation failed"),
    )
}


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


# These are async on purpose: opening and closing a session costs microseconds, and as sync
# dependencies each would take two extra hops through the thread pool on every request.
async def read_session(request: Request) -> AsyncIterator[Session]:
    with database(request).unit_of_work(write=False) as session:
        yield session


async def write_session(request: Request) -> AsyncIterator[Session]:
    """Commits once when the route returns normally; rolls back when it raises."""
    with database(request).unit_of_work(write=True) as session:
        yield session


# scope="function": the unit of work ends (commits) before the response leaves, so a client
# that got 201 or a redirect can rely on the write, and a failed commit is an error response.
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]

# Ids as the databases store them: INTEGER, which is 32 bits on PostgreSQL (SQLite's are 64).
# A larger number is a 422, never a driver overflow (schemathesis found the 500 on PostgreSQL).
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
