"""Request dependencies of the accounts domain: who is asking, and the accounts runtime.

Any route gets the caller with ``actor: CurrentActor`` (or reads ``request.state.actor``);
both come from :class:`shelfbridge.accounts.middleware.AccountsMiddleware`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shelfbridge.accounts.actor import ANONYMOUS, Actor
from shelfbridge.accounts.config import AccountsRuntime
from shelfbridge.core.errors import NotAuthenticated


def request_actor(request: Request) -> Actor:
    actor: Actor = request.scope.get("state", {}).get("actor", ANONYMOUS)
    return actor


def signed_in_actor(request: Request) -> Actor:
    """The caller, who must be a signed-in user (401 otherwise)."""
    actor = request_actor(request)
    if actor.kind != "user" or actor.user_id is None:
        raise NotAuthenticated()
    return actor


def accounts_runtime(request: Request) -> AccountsRuntime:
    runtime: AccountsRuntime = request.app.state.accounts
    return runtime


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


CurrentActor = Annotated[Actor, Depends(request_actor)]
SignedInActor = Annotated[Actor, Depends(signed_in_actor)]
Runtime = Annotated[AccountsRuntime, Depends(accounts_runtime)]
