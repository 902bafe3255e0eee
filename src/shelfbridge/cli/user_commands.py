"""``shelfbridge user …`` (accounts and memberships) and ``shelfbridge demo accounts``.

Each command opens one unit of work and calls the same services as the pages. Exit codes:
0 done, 1 refused (the message says why and what to do), 2 a usage error.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from shelfbridge.accounts import repository, service
from shelfbridge.accounts.demo import DEMO_PASSWORD, load_demo_accounts
from shelfbridge.accounts.models import User
from shelfbridge.accounts.roles import ROLES
from shelfbridge.cli.common import DbOption, LangOption, fail, open_database
from shelfbridge.core.database import Database
from shelfbridge.core.errors import ShelfbridgeError, ValidationFailed
from shelfbridge.core.i18n import gettext as _
from shelfbridge.core.i18n import translate
from shelfbridge.core.models import utcnow
from shelfbridge.core.settings import Settings
from shelfbridge.registry.models import Organization

app = typer.Typer(help="User accounts and their memberships.", no_args_is_help=True)

ROLE_HELP = "One of: " + ", ".join(ROLES) + "."
UsernameArgument = Annotated[str, typer.Argument(help="The user's username.", show_default=False)]
OrganizationArgument = Annotated[
    str, typer.Argument(help="The organisation's external ID.", show_default=False)
]


def _refuse(error: ShelfbridgeError) -> typer.Exit:
    """Print a refused change (every problem of a validation) and exit 1."""
    if isinstance(error, ValidationFailed):
        lines = [f"{p.field}: {p.render(translate)}" for p in error.problems]
        return fail("\n".join([error.render(translate), *lines]))
    return fail(error.render(translate))


def _organization(session: Session, external_id: str) -> Organization:
    organization = repository.organization_by_external_id(session, external_id)
    if organization is None:
        raise fail(
            _("No organisation has the external ID “{external_id}”.", external_id=external_id)
        )
    return organization


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    return password


@app.command("create")
def create(
    username: UsernameArgument,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input instead of asking.",
        ),
    ] = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user a platform admin.")] = False,
    display_name: Annotated[
        str | None, typer.Option(help="The name pages show (default: the username).")
    ] = None,
    email: Annotated[str | None, typer.Option(help="The user's e-mail address.")] = None,
    org: Annotated[
        str | None,
        typer.Option("--org", help="External ID of an organisation to add the user to."),
    ] = None,
    role: Annotated[str | None, typer.Option(help=f"Role in --org. {ROLE_HELP}")] = None,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Create a user (the password is asked for twice, or read with --password-stdin)."""
    _settings, database = open_database(db, lang)
    try:
        if (org is None) != (role is None):
            raise fail(_("Give --org and --role together."), 2)
        password = _read_password(password_stdin)
        try:
            with database.unit_of_work() as session:
                organization = _organization(session, org) if org else None
                user = service.create_user(
                    session,
                    username,
                    password,
                    display_name=display_name,
                    email=email,
                    is_platform_admin=admin,
                )
                if organization is not None and role is not None:
                    service.grant(session, user, organization, role)
                name = user.username
        except ShelfbridgeError as error:
            raise _refuse(error) from None
        typer.echo(_("User {username} created.", username=name))
        if admin:
            typer.echo(_("{username} is a platform admin.", username=name))
        if org and role:
            typer.echo(_("{username} is {role} in {org}.", username=name, role=role, org=org))
    finally:
        database.dispose()


def _user(session: Session, username: str) -> User:
    try:
        return service.get_user(session, username)
    except ShelfbridgeError as error:
        raise _refuse(error) from None


@app.command("grant")
def grant(
    username: UsernameArgument,
    organization: OrganizationArgument,
    role: Annotated[str, typer.Argument(help=ROLE_HELP, show_default=False)],
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Give a user a role in an organisation (takes effect on the user's next request)."""
    _settings, database = open_database(db, lang)
    try:
        with database.unit_of_work() as session:
            user = _user(session, username)
            target = _organization(session, organization)
            try:
                service.grant(session, user, target, role)
            except ShelfbridgeError as error:
                raise _refuse(error) from None
            message = _(
                "{username} is now {role} in {org}.",
                username=user.username,
                role=role,
                org=target.name,
            )
        typer.echo(message)
    finally:
        database.dispose()


@app.command("revoke")
def revoke(
    username: UsernameArgument,
    organization: OrganizationArgument,
    role: Annotated[
        str | None, typer.Option(help=f"End only this role (default: every role). {ROLE_HELP}")
    ] = None,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """End a user's membership in an organisation (refused from the user's next request)."""
    _settings, database = open_database(db, lang)
    try:
        with database.unit_of_work() as session:
            user = _user(session, username)
            target = _organization(session, organization)
            try:
                ended = service.revoke(session, user, target, utcnow(), role)
            except ShelfbridgeError as error:
                raise _refuse(error) from None
            name, org_name = user.username, target.name
        if not ended:
            raise fail(
                _("{username} has no membership in {org} to end.", username=name, org=org_name)
            )
        typer.echo(
            _(
                "Ended {count} membership(s) of {username} in {org}.",
                count=ended,
                username=name,
                org=org_name,
            )
        )
    finally:
        database.dispose()


@app.command("disable")
def disable(username: UsernameArgument, db: DbOption = None, lang: LangOption = None) -> None:
    """Disable a user: ends their sessions and revokes their API tokens at once."""
    _settings, database = open_database(db, lang)
    try:
        with database.unit_of_work() as session:
            user = _user(session, username)
            sessions_ended, tokens_revoked = service.disable_user(session, user, utcnow())
            name = user.username
        typer.echo(
            _(
                "{username} is disabled: {sessions} session(s) ended, {tokens} API token(s) "
                "revoked.",
                username=name,
                sessions=sessions_ended,
                tokens=tokens_revoked,
            )
        )
    finally:
        database.dispose()


@app.command("link-person")
def link_person(
    username: UsernameArgument,
    person: Annotated[
        str | None,
        typer.Argument(
            help="The person's external ID in the registry (a contributor of IP assets).",
            show_default=False,
        ),
    ] = None,
    unlink: Annotated[
        bool, typer.Option("--unlink", help="Remove the user's link to a person instead.")
    ] = False,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Link a user to their person of the registry, so that they read their own reward
    statement (/ip/statement); a person is linked to at most one user."""
    _settings, database = open_database(db, lang)
    try:
        if (person is None) != unlink:
            raise fail(_("Give a person's external ID, or --unlink."), 2)
        with database.unit_of_work() as session:
            user = _user(session, username)
            try:
                found = service.link_person(session, user, person)
            except ShelfbridgeError as error:
                raise _refuse(error) from None
            name = user.username
            label = f"{found.name} ({found.external_id})" if found is not None else None
        if label is None:
            typer.echo(_("{username} is linked to no person.", username=name))
        else:
            typer.echo(_("{username} is linked to {person}.", username=name, person=label))
    finally:
        database.dispose()


def create_demo_accounts(settings: Settings, database: Database) -> None:
    """Create the demo accounts and say so (``demo accounts``, and ``demo load`` in demo mode)."""
    try:
        with database.unit_of_work() as session:
            outcome = load_demo_accounts(session, settings)
    except ShelfbridgeError as error:
        raise _refuse(error) from None
    for username, created in outcome:
        state = _("created") if created else _("already there")
        typer.echo(f"  {username}: {state}")
    typer.echo(
        _("Demo accounts ready; the password of each is {password}.", password=DEMO_PASSWORD)
    )


def demo_accounts(db: DbOption = None, lang: LangOption = None) -> None:
    """Create the demo accounts (demo mode only), after `shelfbridge demo load`."""
    settings, database = open_database(db, lang)
    try:
        create_demo_accounts(settings, database)
    finally:
        database.dispose()
