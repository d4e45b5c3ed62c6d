"""Schema version 3: what the dashboard's time series read, stored where an index can serve it.

- ``parity_exchanges.latency_s``: the exchange's latency, written with the row
  (it was only inside the JSON in ``data``).
- ``watch_ticks.latency_s``: the mean latency of the tick endpoint's own
  answered (``ok``) exchanges in that tick, written with the tick; NULL when
  it has none (skipped, or every request failed).
- ``ix_watch_ticks_series`` on ``watch_ticks (endpoint, stream, scheduled_at,
  status, statistic, latency_s)``: the sentinel's statistic and latency
  series and the overview's sparklines are bucketed aggregates over a time
  range, answered from this index alone.
- ``ix_parity_verdicts_latest`` on ``parity_verdicts (endpoint, suite, id)``:
  the newest verdict per endpoint and suite (the overview) without a sort.

Existing rows are backfilled: exchanges from their JSON (an exchange whose JSON
has no latency keeps NULL), then ticks from their exchanges. Nothing is
removed: a store at version 2 keeps every row as it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TICK_LATENCY = (
    "UPDATE watch_ticks SET latency_s = (SELECT avg(e.latency_s) FROM parity_exchanges e "
    "WHERE e.run_id = watch_ticks.id AND e.endpoint = watch_ticks.endpoint AND e.status = 'ok') "
    "WHERE status = 'done'"
)


def upgrade() -> None:
    op.add_column("parity_exchanges", sa.Column("latency_s", sa.Float))
    if op.get_bind().dialect.name == "postgresql":
        # json, not jsonb: one field of each row is read once (jsonb's conversion costs more)
        op.execute("UPDATE parity_exchanges SET latency_s = (data::json ->> 'latency_s')::double precision")
    else:
        op.execute("UPDATE parity_exchanges SET latency_s = json_extract(data, '$.latency_s') "
                   "WHERE json_valid(data)")
    op.add_column("watch_ticks", sa.Column("latency_s", sa.Float))
    op.execute(TICK_LATENCY)
    op.create_index("ix_watch_ticks_series", "watch_ticks",
                    ["endpoint", "stream", "scheduled_at", "status", "statistic", "latency_s"])
    op.create_index("ix_parity_verdicts_latest", "parity_verdicts", ["endpoint", "suite", "id"])
