"""registry, providers, operators and audit

Revision ID: 0001
Revises:
Create Date: 2026-11-22 21:46:05.261022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dispatch.db.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audit log is append-only: the database itself refuses to change or remove a row.
_PG_AUDIT_GUARD = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only';
END;
$$ LANGUAGE plpgsql
"""
_PG_AUDIT_TRIGGER = (
    "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
)
_SQLITE_AUDIT_TRIGGERS = [
    f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]


def _guard_audit_log() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_AUDIT_GUARD)
        op.execute(_PG_AUDIT_TRIGGER)
    else:
        for statement in _SQLITE_AUDIT_TRIGGERS:
            op.execute(statement)


def _unguard_audit_log() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_change ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entry_entity", ["entity_type", "entity_id"], unique=False)

    op.create_table(
        "elder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.Enum("male", "female", name="sex", native_enum=False, length=32), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column(
            "hukou_type",
            sa.Enum("urban", "rural", name="hukoutype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("hukou_address", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("street", sa.String(length=32), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("home_lon", sa.Float(), nullable=False),
        sa.Column("home_lat", sa.Float(), nullable=False),
        sa.Column(
            "safe_area",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "household",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("living_alone", sa.Boolean(), nullable=False),
        sa.Column("empty_nest", sa.Boolean(), nullable=False),
        sa.Column("physical_condition", sa.Text(), nullable=False),
        sa.Column("economic_condition", sa.Text(), nullable=False),
        sa.Column(
            "subsidy_categories",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "hobbies",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dialect", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "moved_out", "deceased", name="elderstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elder")),
        sa.UniqueConstraint("id_number", name=op.f("uq_elder_id_number")),
    )
    with op.batch_alter_table("elder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_elder_community"), ["community"], unique=False)
        batch_op.create_index(batch_op.f("ix_elder_district"), ["district"], unique=False)
        batch_op.create_index(batch_op.f("ix_elder_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_elder_phone"), ["phone"], unique=False)

    op.create_table(
        "operator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum("agent", "supervisor", "admin", name="role", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator")),
        sa.UniqueConstraint("username", name=op.f("uq_operator_username")),
    )
    op.create_table(
        "provider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("registration_number", sa.String(length=32), nullable=False),
        sa.Column("contact_person", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column(
            "service_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("base_lon", sa.Float(), nullable=False),
        sa.Column("base_lat", sa.Float(), nullable=False),
        sa.Column(
            "service_area",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "price_list",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("service_frequency", sa.Text(), nullable=False),
        sa.Column("commitments", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column(
            "working_hours",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "suspended",
                "exited",
                name="providerstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("created_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider")),
        sa.UniqueConstraint("registration_number", name=op.f("uq_provider_registration_number")),
    )
    with op.batch_alter_table("provider", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_district"), ["district"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_status"), ["status"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "relative",
                "community_worker",
                "doctor",
                "neighbour",
                "other",
                name="contactkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["elder.id"], name=op.f("fk_contact_elder_id_elder"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_elder_id"), ["elder_id"], unique=False)

    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("imei", sa.String(length=32), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("watch", "phone", "app", name="devicekind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "disabled", name="devicestatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("heartbeat_interval_s", sa.Integer(), nullable=False),
        sa.Column("firmware", sa.String(length=64), nullable=True),
        sa.Column("battery", sa.Integer(), nullable=True),
        sa.Column("last_seen_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_lon", sa.Float(), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_fixed", sa.Boolean(), nullable=True),
        sa.Column("last_position_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["elder.id"], name=op.f("fk_device_elder_id_elder"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("imei", name=op.f("uq_device_imei")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_elder_id"), ["elder_id"], unique=False)

    op.create_table(
        "health_record",
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column(
            "conditions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "medications",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "allergies",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "blood_type",
            sa.Enum(
                "A",
                "B",
                "AB",
                "O",
                "A-",
                "B-",
                "AB-",
                "O-",
                "unknown",
                name="bloodtype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("self_care_ability", sa.Integer(), nullable=False),
        sa.Column("pension_insurance", sa.String(length=64), nullable=False),
        sa.Column("medical_insurance", sa.String(length=64), nullable=False),
        sa.Column(
            "other_subsidies",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "ageing_indicators",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "vitals_thresholds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["elder.id"], name=op.f("fk_health_record_elder_id_elder"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("elder_id", name=op.f("pk_health_record")),
    )
    op.create_table(
        "operator_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_operator_session_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_session_token_hash")),
    )
    with op.batch_alter_table("operator_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_session_operator_id"), ["operator_id"], unique=False)

    op.create_table(
        "provider_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column(
            "qualifications",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "service_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider.id"],
            name=op.f("fk_provider_staff_provider_id_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_staff")),
    )
    with op.batch_alter_table("provider_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_staff_provider_id"), ["provider_id"], unique=False)
    _guard_audit_log()


def downgrade() -> None:
    _unguard_audit_log()
    with op.batch_alter_table("provider_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_staff_provider_id"))

    op.drop_table("provider_staff")
    with op.batch_alter_table("operator_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_session_operator_id"))

    op.drop_table("operator_session")
    op.drop_table("health_record")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_elder_id"))

    op.drop_table("device")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_elder_id"))

    op.drop_table("contact")
    with op.batch_alter_table("provider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_status"))
        batch_op.drop_index(batch_op.f("ix_provider_phone"))
        batch_op.drop_index(batch_op.f("ix_provider_name"))
        batch_op.drop_index(batch_op.f("ix_provider_district"))

    op.drop_table("provider")
    op.drop_table("operator")
    with op.batch_alter_table("elder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_elder_phone"))
        batch_op.drop_index(batch_op.f("ix_elder_name"))
        batch_op.drop_index(batch_op.f("ix_elder_district"))
        batch_op.drop_index(batch_op.f("ix_elder_community"))

    op.drop_table("elder")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_entity")
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_action"))

    op.drop_table("audit_entry")
