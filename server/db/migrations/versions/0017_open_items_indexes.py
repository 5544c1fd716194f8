"""partial indexes on open quarantine entries and open conflicts (issue 19)

The /metrics scrape counts the open ones per store and till (server/metrics_fleet.py);
without an index on ``status`` it read both tables whole (70-250 ms a scrape with 1,000
tills, benchmarks/notes/metrics.md). Each index holds only the open rows, a short list
however many were resolved, keyed by (store_id, device_id) as the scrape groups them.
And the webhook deliveries not delivered (pending or given up) by event: the scrape's
webhook figures read those only (on SQLite it had walked every event by organization,
the (status, next_attempt_at) index judged too wide once most deliveries succeeded).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status = 'open'")
UNDELIVERED = sa.text("status IN ('pending', 'failed')")


def upgrade() -> None:
    op.create_index("ix_quarantine_open", "quarantine", ["store_id", "device_id"],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_conflicts_open", "conflicts", ["store_id", "device_id"],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_webhook_deliveries_undelivered", "webhook_deliveries", ["event_id"],
                    sqlite_where=UNDELIVERED, postgresql_where=UNDELIVERED)


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_undelivered", table_name="webhook_deliveries")
    op.drop_index("ix_conflicts_open", table_name="conflicts")
    op.drop_index("ix_quarantine_open", table_name="quarantine")
