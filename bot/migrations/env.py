"""Alembic environment: runs our migrations against the URL set by ``bot.db.alembic_config``."""

from __future__ import annotations

from alembic import context

import bot.models  # noqa: F401  (registers the tables)
from bot.db import Base, make_engine

# Tables that belong to Rasa (its SQL tracker store may share the database); never touched here.
FOREIGN_TABLES = {"events"}


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in FOREIGN_TABLES)


def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set (use bot.db.alembic_config)")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            render_as_batch=True,  # SQLite can only ALTER tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
