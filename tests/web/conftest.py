"""Clients of the page and API tests: signed in as a platform admin, who may do everything, so
that these tests exercise the registry itself (who may do what is tested in tests/accounts and
by the authorization matrix)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import auth

ADMIN = "web-admin"


@pytest.fixture
def admin_client(client: Any, database: Any) -> Any:
    """The test client, signed in (session cookie) as a platform admin."""
    auth.create_user(database, ADMIN, admin=True)
    auth.sign_in(client, ADMIN)
    return client


@pytest.fixture
def admin_api(app: Any, database: Any) -> Iterator[Any]:
    """A client that sends a platform admin's API token with every request."""
    from fastapi.testclient import TestClient

    auth.create_user(database, ADMIN, admin=True)
    with TestClient(app) as api:
        api.headers.update(auth.bearer(auth.api_token(api, ADMIN)))
        yield api
