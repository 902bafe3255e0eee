"""HTML pages of accounts: sign in and out, my account (name, password, API tokens) and the
members of an organisation (for its admins and platform admins).

Every form carries the CSRF token (``csrf_field()``); the router is installed with
:func:`shelfbridge.accounts.csrf.csrf_protect` like every page router.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shelfbridge.accounts import policy, repository, security, service, sessions, tokens
from shelfbridge.accounts.actor import Actor
from shelfbridge.accounts.config import AccountsRuntime
from shelfbridge.accounts.deps import CurrentActor, Runtime, client_address
from shelfbridge.accounts.errors import LoginFailed, LoginThrottled
from shelfbridge.accounts.login import sign_in
from shelfbridge.accounts.middleware import cookie_secure
from shelfbridge.accounts.models import Membership, User
from shelfbridge.accounts.roles import ROLES
from shelfbridge.core.errors import (
    Conflict,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_, gettext, translate
from shelfbridge.registry.models import Organization
from shelfbridge.web.deps import ReadSession, WriteSession

MANAGE_MEMBERS = "members.manage"

ROUTES = {
    "page_login": policy.PUBLIC,
    "page_login_submit": policy.PUBLIC,
    "page_logout": policy.PUBLIC,
    "page_account": policy.SIGNED_IN,
    "page_account_profile": policy.SIGNED_IN,
    "page_account_password": policy.SIGNED_IN,
    "page_account_token_create": policy.SIGNED_IN,
    "page_account_token_revoke": policy.SIGNED_IN,
    "page_members": policy.SIGNED_IN,
    "page_member_add": policy.SIGNED_IN,
    "page_member_role": policy.SIGNED_IN,
    "page_member_remove": policy.SIGNED_IN,
}

NOTICES = {
    "profile": N_("Your display name was saved."),
    "password": N_("Your password was changed; your other sessions were ended."),
    "revoked": N_("The token was revoked."),
    "added": N_("The member was added."),
    "role": N_("The role was changed."),
    "removed": N_("The membership was ended."),
    "signed_out": N_("You are signed out."),
}

Text = Annotated[str, Form()]


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=headers
    )
    return response


def _notice(request: Request) -> str | None:
    key = request.query_params.get("done")
    return gettext(NOTICES[key]) if key in NOTICES else None


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def _user(session: Session, actor: Actor) -> User | None:
    if actor.kind != "user" or actor.user_id is None:
        return None
    return repository.user_by_id(session, actor.user_id)


def _problems_by_field(problems: list[FieldProblem]) -> dict[str, list[str]]:
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        by_field.setdefault(problem.field, []).append(problem.render(translate))
    return by_field


# ---------------------------------------------------------------- sign in and out
def _login_page(
    request: Request,
    next_path: str,
    username: str = "",
    message: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    policy_ = request.app.state.accounts.policy
    context = {
        "next": next_path,
        "username": username,
        "message": message,
        "notice": _notice(request),
        "max_failures": policy_.max_failures,
        "lockout_minutes": int(policy_.lockout.total_seconds() // 60),
    }
    return _render(request, "accounts/login.html", context, status_code, headers)


def _login_routes(router: APIRouter) -> None:
    @router.get("/login", response_model=None, name="page_login")
    def login_form(request: Request, actor: CurrentActor) -> Response:
        next_path = safe_next(request.query_params.get("next"))
        if actor.kind == "user":
            return RedirectResponse(next_path if next_path != "/" else "/account", 303)
        return _login_page(request, next_path)

    @router.post("/login", response_model=None, name="page_login_submit")
    def login(
        request: Request,
        runtime: Runtime,
        username: Text = "",
        password: Text = "",
        next: Text = "/",  # noqa: A002 - the form field's name
    ) -> Response:
        database = request.app.state.database
        next_path = safe_next(next)
        now = runtime.now()
        try:
            secret = sign_in(
                database,
                runtime,
                username,
                password,
                address=client_address(request),
                then=lambda session, user: sessions.start(session, user.id, now)[0],
            )
        except (LoginFailed, LoginThrottled) as error:
            message = error.render(translate)
            return _login_page(request, next_path, username, message, error.status, error.headers)
        if request.state.auth_via == "session":  # signing in again ends the old session
            with database.unit_of_work() as session:
                sessions.end(session, request.state.credential_id, now)
        response = RedirectResponse(next_path, status_code=303)
        _set_session_cookie(request, response, runtime, secret)
        return response

    @router.post("/logout", response_model=None, name="page_logout")
    def logout(request: Request, runtime: Runtime) -> Response:
        if request.state.auth_via == "session":
            with request.app.state.database.unit_of_work() as session:
                sessions.end(session, request.state.credential_id, runtime.now())
        response = RedirectResponse("/login?done=signed_out", status_code=303)
        response.delete_cookie(
            sessions.SESSION_COOKIE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=cookie_secure(runtime, request.scope),
        )
        return response


def _set_session_cookie(
    request: Request, response: Response, runtime: AccountsRuntime, secret: str
) -> None:
    response.set_cookie(
        sessions.SESSION_COOKIE,
        secret,
        max_age=int(runtime.policy.session_max.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(runtime, request.scope),
    )


# ---------------------------------------------------------------- my account
def _account_context(
    session: Session,
    user: User,
    actor: Actor,
    **extra: Any,
) -> dict[str, Any]:
    memberships = [
        {
            "organization": organization,
            "role": translate(ROLES.get(m.role, m.role)),
            "manages": actor.can(MANAGE_MEMBERS, organization.id),
        }
        for m, organization in repository.live_memberships(session, user.id)
    ]
    context: dict[str, Any] = {
        "user": user,
        "memberships": memberships,
        "tokens": repository.tokens_of(session, user.id),
        "errors": {},
        "new_token": None,
        "display_name": user.display_name,
        "token_name": "",
        "notice": None,
    }
    context.update(extra)
    return context


def _account_routes(router: APIRouter) -> None:
    @router.get("/account", response_model=None, name="page_account")
    def account(request: Request, actor: CurrentActor, session: ReadSession) -> Response:
        user = _user(session, actor)
        if user is None:
            return _to_login(request)
        context = _account_context(session, user, actor, notice=_notice(request))
        return _render(request, "accounts/account.html", context)

    @router.post("/account/profile", response_model=None, name="page_account_profile")
    def profile(
        request: Request, actor: CurrentActor, session: WriteSession, display_name: Text = ""
    ) -> Response:
        user = _user(session, actor)
        if user is None:
            return _to_login(request)
        try:
            service.update_profile(session, user, display_name)
        except ValidationFailed as failed:
            session.rollback()
            user = _user(session, actor)
            assert user is not None
            context = _account_context(
                session,
                user,
                actor,
                errors=_problems_by_field(failed.problems),
                display_name=display_name,
            )
            return _render(request, "accounts/account.html", context, 422)
        return RedirectResponse("/account?done=profile", status_code=303)

    @router.post("/account/password", response_model=None, name="page_account_password")
    def password(
        request: Request,
        actor: CurrentActor,
        session: WriteSession,
        runtime: Runtime,
        current_password: Text = "",
        new_password: Text = "",
        new_password_again: Text = "",
    ) -> Response:
        user = _user(session, actor)
        if user is None:
            return _to_login(request)
        keep = request.state.credential_id if request.state.auth_via == "session" else None
        try:
            service.change_password(
                session,
                user,
                current_password,
                new_password,
                new_password_again,
                runtime.now(),
                keep_session=keep,
            )
        except ValidationFailed as failed:
            session.rollback()
            user = _user(session, actor)
            assert user is not None
            errors = _problems_by_field(failed.problems)
            context = _account_context(session, user, actor, errors=errors)
            return _render(request, "accounts/account.html", context, 422)
        return RedirectResponse("/account?done=password", status_code=303)

    @router.post("/account/tokens", response_model=None, name="page_account_token_create")
    def create_token(
        request: Request,
        actor: CurrentActor,
        session: WriteSession,
        runtime: Runtime,
        name: Text = "",
    ) -> Response:
        user = _user(session, actor)
        if user is None:
            return _to_login(request)
        secret, row = tokens.issue(
            session,
            user.id,
            name or gettext(N_("API token")),
            runtime.now(),
            runtime.policy.token_lifetime,
        )
        # Shown on this answer only: the secret is not stored and cannot be shown again.
        context = _account_context(session, user, actor, new_token=secret, new_token_row=row)
        return _render(request, "accounts/account.html", context, 201)

    @router.post(
        "/account/tokens/{token_id:int}/revoke",
        response_model=None,
        name="page_account_token_revoke",
    )
    def revoke_token(
        request: Request,
        token_id: int,
        actor: CurrentActor,
        session: WriteSession,
        runtime: Runtime,
    ) -> Response:
        user = _user(session, actor)
        if user is None:
            return _to_login(request)
        tokens.revoke(session, user.id, token_id, runtime.now())
        return RedirectResponse("/account?done=revoked", status_code=303)


# ---------------------------------------------------------------- organisation members
def _managed_organization(session: Session, actor: Actor, organization_id: int) -> Organization:
    organization = repository.organization_by_id(session, organization_id)
    if organization is None:
        raise NotFound("organization")
    if not actor.can(MANAGE_MEMBERS, organization.id):
        security.note(
            "denied",
            "managing members needs org_admin there or platform admin",
            target_kind="organization",
            target_id=organization.id,
        )
        raise PermissionDenied(
            N_("Only this organisation's admins and platform admins can manage its members.")
        )
    return organization


def _role_options() -> list[tuple[str, str]]:
    return [(code, translate(text)) for code, text in ROLES.items()]


def _members_page(
    request: Request,
    session: Session,
    organization: Organization,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "organization": organization,
        "members": repository.members_of(session, organization.id),
        "roles": _role_options(),
        "errors": {},
        "general_error": None,
        "values": {"username": "", "role": ""},
        "notice": _notice(request),
    }
    context.update(extra)
    return _render(request, "accounts/members.html", context, status_code)


def _membership(session: Session, organization: Organization, membership_id: int) -> Membership:
    membership = repository.live_membership(session, membership_id, organization.id)
    if membership is None:
        raise NotFound("membership", N_("This membership does not exist or has ended."))
    return membership


def _member_routes(router: APIRouter) -> None:
    base = "/organizations/{organization_id:int}/members"

    @router.get(base, response_model=None, name="page_members")
    def members(
        request: Request, organization_id: int, actor: CurrentActor, session: ReadSession
    ) -> Response:
        if actor.kind != "user":
            return _to_login(request)
        organization = _managed_organization(session, actor, organization_id)
        return _members_page(request, session, organization)

    @router.post(base, response_model=None, name="page_member_add")
    def add_member(
        request: Request,
        organization_id: int,
        actor: CurrentActor,
        session: WriteSession,
        username: Text = "",
        role: Text = "",
    ) -> Response:
        organization = _managed_organization(session, actor, organization_id)
        values = {"username": username, "role": role}
        try:
            user = repository.user_by_username(session, service.normalize_username(username))
            if user is None or user.disabled_at is not None:
                raise ValidationFailed(
                    [FieldProblem("username", N_("No active user has this username."))]
                )
            service.grant(session, user, organization, role)
        except ValidationFailed as failed:
            session.rollback()
            errors = _problems_by_field(failed.problems)
            return _members_page(request, session, organization, 422, errors=errors, values=values)
        except Conflict as conflict:
            session.rollback()
            message = conflict.render(translate)
            return _members_page(
                request, session, organization, 409, general_error=message, values=values
            )
        return RedirectResponse(f"/organizations/{organization.id}/members?done=added", 303)

    @router.post(f"{base}/{{membership_id:int}}/role", response_model=None, name="page_member_role")
    def change_role(
        request: Request,
        organization_id: int,
        membership_id: int,
        actor: CurrentActor,
        session: WriteSession,
        role: Text = "",
    ) -> Response:
        organization = _managed_organization(session, actor, organization_id)
        membership = _membership(session, organization, membership_id)
        try:
            service.change_role(session, membership, role)
        except (ValidationFailed, Conflict) as error:
            session.rollback()
            return _members_page(
                request,
                session,
                organization,
                error.status,
                general_error=_first_message(error),
            )
        return RedirectResponse(f"/organizations/{organization.id}/members?done=role", 303)

    @router.post(
        f"{base}/{{membership_id:int}}/remove", response_model=None, name="page_member_remove"
    )
    def remove_member(
        request: Request,
        organization_id: int,
        membership_id: int,
        actor: CurrentActor,
        session: WriteSession,
        runtime: Runtime,
    ) -> Response:
        organization = _managed_organization(session, actor, organization_id)
        membership = _membership(session, organization, membership_id)
        try:
            service.end_membership(session, membership, runtime.now())
        except Conflict as conflict:
            session.rollback()
            return _members_page(
                request, session, organization, 409, general_error=conflict.render(translate)
            )
        return RedirectResponse(f"/organizations/{organization.id}/members?done=removed", 303)


def _first_message(error: ValidationFailed | Conflict) -> str:
    if isinstance(error, ValidationFailed) and error.problems:
        return error.problems[0].render(translate)
    return error.render(translate)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter(include_in_schema=False)
    _login_routes(router)
    _account_routes(router)
    _member_routes(router)
    return router


__all__ = ["build_router", "safe_next"]
