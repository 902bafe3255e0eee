"""Alembic environment: the URL comes from the caller (core.migrate), never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from shelfbridge.core.schema import metadata

config = context.config
url: str = config.get_main_option("sqlalchemy.url") or ""
if not url:
    raise RuntimeError("core.migrate passes the database URL")
connectable = config.attributes.get("connection")


def run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connectable is not None:
    run(connectable)
else:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        run(connection)
    engine.dispose()
