"""Disclosures: the persons named move onto the disclosure; inventors' rows follow it

Migration 0008 judged the inventors' rows (``ip_disclosure_contributors``) on their own
columns: any member of the owning unit read every disclosure's inventors at the database wall,
and only the application narrowed it. It had to, because the disclosures' read policy looked
into the inventors' rows to find who is named, so a policy on those rows that looked back at
their disclosure would have recursed.

``ip_disclosures.named_person_ids`` now holds the persons linked to the disclosure's inventors
(ascending ids between commas, a comma at each end: ``",3,17,"``; ``""`` for none), a plain
text column on every database. The application sets it together with the rows
(``Disclosure.name_inventors``); this migration fills it for the disclosures already there.

On PostgreSQL (the settings of migration 0004, the user and person derived as in 0006):

- disclosures are read by those who act for the owner (``write_orgs``) and by the owner's
  members (``read_orgs``) who wrote the disclosure or whose person is in ``named_person_ids``
  (``string_to_array``: no look into the inventors' rows); they are written, as before, by
  those who act for the owner and by the member who wrote it;
- an inventor's row is read exactly when its disclosure is: ``EXISTS`` on ``ip_disclosures``,
  which that table's own read policy filters for the caller;
- an inventor's row is written (inserted, both sides of an update, deleted) exactly when its
  disclosure is written by the caller: the disclosures' write conditions, on that disclosure,
  and the row's owner must be the disclosure's, so no row points into another tenant.

The downgrade puts back the policies of 0008 and drops the column.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

DISCLOSURES = "ip_disclosures"
CONTRIBUTORS = "ip_disclosure_contributors"
COLUMN = "named_person_ids"

# The policy vocabulary below repeats 0008's on purpose: a migration is frozen at the schema it
# was written for, and importing another migration's module would let an edit there change
# what this one creates.


def _setting(name: str) -> str:
    return f"current_setting('shelfbridge.{name}', true)"


CALLER = f"(SELECT coalesce({_setting('actor')}, '') <> '')"
UNRESTRICTED = f"(SELECT coalesce({_setting('unrestricted')}, '') = '1')"
USER = f"(SELECT u.id FROM users u WHERE 'user:' || u.username = {_setting('actor')})"
PERSON = f"(SELECT u.person_id FROM users u WHERE 'user:' || u.username = {_setting('actor')})"


def _owner_in(table: str, setting: str) -> str:
    orgs = (
        f"(SELECT coalesce(string_to_array(NULLIF({_setting(setting)}, ''), ',')::int[], "
        "'{}'::int[]))::int[]"
    )
    return f"{table}.owner_org_id = ANY ({orgs})"


def _policy(*alternatives: str) -> str:
    return f"{CALLER} AND ({UNRESTRICTED} OR {' OR '.join(alternatives)})"


def _disclosure_write(table: str) -> str:
    """Who writes the disclosure ``table`` names (0008's write policy, unchanged)."""
    author = f"{table}.created_by_user_id = {USER}"
    return _policy(
        _owner_in(table, "write_orgs"), f"({_owner_in(table, 'read_orgs')} AND {author})"
    )


def _disclosure_read(named: str) -> str:
    author = f"{DISCLOSURES}.created_by_user_id = {USER}"
    member = _owner_in(DISCLOSURES, "read_orgs")
    return _policy(_owner_in(DISCLOSURES, "write_orgs"), f"({member} AND ({author} OR {named}))")


# ---------------------------------------------------------------------------- 0012
NAMED = f"{PERSON}::text = ANY (string_to_array({DISCLOSURES}.{COLUMN}, ','))"
DISCLOSURES_READ = _disclosure_read(NAMED)
#: the disclosure's own read policy filters this sub-select: the row is read with it
CONTRIBUTORS_READ = (
    f"EXISTS (SELECT 1 FROM {DISCLOSURES} d WHERE d.id = {CONTRIBUTORS}.disclosure_id)"
)
CONTRIBUTORS_WRITE = (
    f"EXISTS (SELECT 1 FROM {DISCLOSURES} d WHERE d.id = {CONTRIBUTORS}.disclosure_id"
    f" AND d.owner_org_id = {CONTRIBUTORS}.owner_org_id AND {_disclosure_write('d')})"
)

# ---------------------------------------------------------------------------- 0008, for downgrade
OLD_NAMED = (
    f"EXISTS (SELECT 1 FROM {CONTRIBUTORS} c"
    f" WHERE c.disclosure_id = {DISCLOSURES}.id AND c.person_id = {PERSON})"
)
OLD_DISCLOSURES_READ = _disclosure_read(OLD_NAMED)
OLD_CONTRIBUTORS = _policy(_owner_in(CONTRIBUTORS, "read_orgs"))


def _set_policies(disclosures_read: str, read: str, write: str) -> None:
    op.execute(f"ALTER POLICY {DISCLOSURES}_select ON {DISCLOSURES} USING ({disclosures_read})")
    table = CONTRIBUTORS
    op.execute(f"ALTER POLICY {table}_select ON {table} USING ({read})")
    op.execute(f"ALTER POLICY {table}_insert ON {table} WITH CHECK ({write})")
    op.execute(f"ALTER POLICY {table}_update ON {table} USING ({write}) WITH CHECK ({write})")
    op.execute(f"ALTER POLICY {table}_delete ON {table} USING ({write})")


def listed(person_ids: set[int]) -> str:
    """As ``ip.disclosure_models.listed_person_ids`` writes them (kept here as it was)."""
    return f",{','.join(str(ident) for ident in sorted(person_ids))}," if person_ids else ""


def _backfill() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Row-level security is forced: an owner who is not superuser sees no rows otherwise.
        bind.execute(
            sa.text(
                "SELECT set_config('shelfbridge.actor', 'migration', true),"
                " set_config('shelfbridge.unrestricted', '1', true)"
            )
        )
    contributors = sa.table(
        CONTRIBUTORS, sa.column("disclosure_id", sa.Integer()), sa.column("person_id", sa.Integer())
    )
    disclosures = sa.table(DISCLOSURES, sa.column("id", sa.Integer()), sa.column(COLUMN, sa.Text()))
    named: dict[int, set[int]] = {}
    linked = sa.select(contributors.c.disclosure_id, contributors.c.person_id).where(
        contributors.c.person_id.is_not(None)
    )
    for disclosure_id, person_id in bind.execute(linked):
        named.setdefault(disclosure_id, set()).add(person_id)
    if not named:
        return
    statement = (
        sa.update(disclosures)
        .where(disclosures.c.id == sa.bindparam("disclosure"))
        .values({COLUMN: sa.bindparam("named")})
    )
    bind.execute(
        statement, [{"disclosure": ident, "named": listed(ids)} for ident, ids in named.items()]
    )


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), so the table keeps its triggers (0011).
    op.add_column(DISCLOSURES, sa.Column(COLUMN, sa.Text(), nullable=False, server_default=""))
    _backfill()
    if op.get_bind().dialect.name == "postgresql":
        _set_policies(DISCLOSURES_READ, CONTRIBUTORS_READ, CONTRIBUTORS_WRITE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _set_policies(OLD_DISCLOSURES_READ, OLD_CONTRIBUTORS, OLD_CONTRIBUTORS)
    # Dropped in place too (SQLite 3.35 and later), keeping the triggers.
    op.drop_column(DISCLOSURES, COLUMN)
