"""JSON API of accounts: personal tokens (create with a password, list, revoke) and ``me``.

The API is reached with bearer tokens only (the session cookie is not read under ``/api/``),
so it needs no CSRF token. Failed token requests count towards the same lockout as the login
page and answer 401 (or 429 with Retry-After while locked) in problem+json.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from shelfbridge.accounts import policy, repository, tokens
from shelfbridge.accounts.deps import Runtime, SignedInActor, client_address
from shelfbridge.accounts.errors import LoginFailed, LoginThrottled
from shelfbridge.accounts.login import sign_in
from shelfbridge.accounts.models import ApiToken, User
from shelfbridge.accounts.schemas import MembershipOut, MeOut, TokenCreated, TokenOut, TokenRequest
from shelfbridge.core.database import Database
from shelfbridge.web.deps import ReadSession, RecordId, WriteSession
from shelfbridge.web.errors import render_error

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/problem+json": {}}}
    for status, description in (
        (400, "Bad request (e.g. a body that cannot be read)"),
        (401, "Not signed in, or the token is unknown, expired or revoked"),
        (404, "Not found"),
        (422, "Validation failed"),
        (429, "Too many failed sign-ins; see Retry-After"),
    )
}

ROUTES = {
    "create_api_token": policy.PUBLIC,
    "list_api_tokens": policy.SIGNED_IN,
    "revoke_api_token": policy.SIGNED_IN,
    "get_me": policy.SIGNED_IN,
}


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
    )


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter(prefix="/auth", tags=["auth"], responses=AUTH_RESPONSES)

    @router.post("/token", status_code=201, response_model=TokenCreated, name="create_api_token")
    def create_token(request: Request, body: TokenRequest, runtime: Runtime) -> Any:
        """Exchange a username and password for a personal API token (shown once)."""
        database: Database = request.app.state.database
        now = runtime.now()

        def issue(session: Any, user: User) -> TokenCreated:
            secret, row = tokens.issue(
                session, user.id, body.name, now, runtime.policy.token_lifetime
            )
            return TokenCreated(
                token=secret, id=row.id, prefix=row.prefix, name=row.name, expires_at=row.expires_at
            )

        try:
            return sign_in(
                database,
                runtime,
                body.username,
                body.password,
                address=client_address(request),
                then=issue,
            )
        except (LoginFailed, LoginThrottled) as error:
            return render_error(request, error)

    @router.get("/tokens", response_model=list[TokenOut], name="list_api_tokens")
    def list_tokens(actor: SignedInActor, session: ReadSession) -> list[TokenOut]:
        """The caller's tokens that were not revoked (never their secrets)."""
        assert actor.user_id is not None
        return [_token_out(t) for t in repository.tokens_of(session, actor.user_id)]

    @router.delete(
        "/tokens/{token_id}", status_code=204, response_class=Response, name="revoke_api_token"
    )
    def revoke_token(
        token_id: RecordId, actor: SignedInActor, session: WriteSession, runtime: Runtime
    ) -> Response:
        """Revoke one of the caller's tokens; it is refused from the next request on."""
        assert actor.user_id is not None
        tokens.revoke(session, actor.user_id, token_id, runtime.now())
        return Response(status_code=204)

    @router.get("/me", response_model=MeOut, name="get_me")
    def me(actor: SignedInActor, session: ReadSession) -> MeOut:
        """Who the token belongs to, and the caller's live memberships."""
        assert actor.user_id is not None
        user = repository.user_by_id(session, actor.user_id)
        assert user is not None
        return MeOut(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            is_platform_admin=user.is_platform_admin,
            memberships=[
                MembershipOut(
                    organization_id=org.id,
                    organization=org.external_id,
                    organization_name=org.name,
                    role=m.role,
                )
                for m, org in repository.live_memberships(session, user.id)
            ],
        )

    return router


__all__ = ["build_router"]
