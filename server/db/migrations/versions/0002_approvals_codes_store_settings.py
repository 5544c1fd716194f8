"""approvals, customers, staff codes, store settings, sealed customer data, server meta

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import server.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = server.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"],
                                name=op.f("fk_approvals_org_id_organizations")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_approvals_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_approvals_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_approvals_store_id"), ["store_id", "status"],
                              unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"],
                                name=op.f("fk_customers_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_phone_index"), ["phone_index"],
                              unique=False)

    op.create_table(
        "server_meta",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_server_meta")),
    )

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_staff_org_id_code"), ["org_id", "code"])

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=500), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("tax_id", sa.String(length=50), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("locale", sa.String(length=20), nullable=False,
                                      server_default="en_IE"))
        batch_op.add_column(sa.Column("receipt_footer", sa.String(length=1000), nullable=False,
                                      server_default="Thank you!"))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False,
                                      server_default="1"))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_phone_index", sa.String(length=64),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_customer_phone_index"),
                              ["customer_phone_index"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_customer_phone_index"))
        batch_op.drop_column("customer_phone_index")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        for name in ("version", "receipt_footer", "locale", "tax_id", "address"):
            batch_op.drop_column(name)
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_org_id_code"), type_="unique")
        batch_op.drop_column("code")
    op.drop_table("server_meta")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_phone_index"))
        batch_op.drop_index(batch_op.f("ix_customers_org_id"))
    op.drop_table("customers")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_store_id"))
        batch_op.drop_index(batch_op.f("ix_approvals_order_id"))
        batch_op.drop_index(batch_op.f("ix_approvals_org_id"))
    op.drop_table("approvals")
