"""The store's schema: Alembic migrations shipped in the package, applied on open.

Revisions are numbered ``0001``, ``0002``, …: a revision's number is the schema
version. Opening a store

- creates every table on an empty database (upgrade to head);
- recognises a store written before migrations existed (parity's tables, no
  ``alembic_version``), checks its columns and stamps it at ``0001``;
- upgrades an older store to head;
- refuses a store whose revision this code does not know (written by a newer
  parity) with :class:`StoreVersionError`, naming both versions.

All of it runs in one transaction; on PostgreSQL under an advisory lock, so two
processes opening one store at once migrate it once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from ._tables import SCHEMA_VERSION

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key: "parity" in ASCII, so unrelated applications' locks don't collide.
_PG_LOCK = 0x706172697479

# The columns of schema version 1, to recognise a store written before migrations existed.
_LEGACY_COLUMNS: dict[str, frozenset[str]] = {
    "parity_runs": frozenset({"id", "fingerprint", "status", "created_at", "finished_at",
                              "parity_version", "schema_version", "seed", "reference", "suites",
                              "datasets", "config"}),
    "parity_exchanges": frozenset({"id", "run_id", "endpoint", "suite", "case_hash", "repeat",
                                   "case_id", "status", "created_at", "data"}),
    "parity_verdicts": frozenset({"id", "run_id", "endpoint", "suite", "verdict", "created_at",
                                  "data"}),
}


class StoreVersionError(RuntimeError):
    """The store's schema cannot be used by this code (newer, or not a parity store)."""


def version_of(revision: str) -> int | None:
    """The schema version a revision id stands for (``"0003"`` -> 3), None if not numbered."""
    return int(revision) if revision.isdigit() else None


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


def migrate(engine: Engine, *, where: str) -> None:
    """Bring the store at ``engine`` to this code's schema version (see the module doc)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        current = MigrationContext.configure(conn).get_current_revision()
        cfg = _config(conn)
        if current is None:
            if _legacy(conn, where):
                command.stamp(cfg, "0001")
        else:
            _check_known(current, where)
        command.upgrade(cfg, "head")


def current_version(engine: Engine) -> int | None:
    """The schema version the store is at (None: no migrations applied)."""
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    return None if rev is None else version_of(rev)


def _check_known(current: str, where: str) -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    known = {rev.revision for rev in script.walk_revisions()}
    if current in known:
        return
    n = version_of(current)
    theirs = f"schema version {n}" if n is not None else f"an unknown schema revision {current!r}"
    raise StoreVersionError(
        f"the store {where} has {theirs}, newer than this parity's schema version "
        f"{SCHEMA_VERSION}: open it with the newer parity that wrote it, or upgrade parity"
    )


def _legacy(conn: Connection, where: str) -> bool:
    """True for a store written before migrations (stamp it); False for an empty one."""
    insp = inspect(conn)
    present = {t for t in _LEGACY_COLUMNS if insp.has_table(t)}
    if not present:
        return False
    for table, expected in _LEGACY_COLUMNS.items():
        if table not in present:
            raise StoreVersionError(f"the store {where} has {sorted(present)} but not {table!r}: "
                                    "not a store parity wrote")
        have = {c["name"] for c in insp.get_columns(table)}
        if missing := expected - have:
            raise StoreVersionError(f"the store {where}: table {table!r} lacks columns "
                                    f"{sorted(missing)}: not a store parity wrote")
    return True
