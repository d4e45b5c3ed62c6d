"""Alembic environment for the parity store: run programmatically by ``parity.store``.

The store opens its own connection (inside a transaction, holding the migration
lock) and hands it over as ``config.attributes["connection"]``; there is no
alembic.ini and no URL here.
"""

from __future__ import annotations

from alembic import context

from parity.store._tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("parity's migrations run through parity.store.Store (they need its connection)")

context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
