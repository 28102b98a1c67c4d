"""No interviewer or room in two overlapping confirmed interviews, enforced by PostgreSQL:
exclusion constraints over the bookings' time ranges (btree_gist lets `=` on the id share
the GiST index with `&&` on the range). SQLite (`make run` without PostgreSQL) has no such
constraint; there the actions' row locks and checks, with SQLite's single writer, decide."""

from django.db import migrations

CONSTRAINTS = {
    "booking_no_overlap_per_user": "user_id",
    "booking_no_overlap_per_room": "room_id",
}


def add_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column in CONSTRAINTS.items():
        schema_editor.execute(
            f"ALTER TABLE selection_booking ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({column} WITH =, tstzrange(start_at, end_at, '[)') WITH &&) WHERE ({column} IS NOT NULL)"
        )


def drop_constraints(apps, schema_editor):
    # The extension stays: other tables may use it, and an unused extension is harmless.
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE selection_booking DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("selection", "0001_initial")]

    operations = [migrations.RunPython(add_constraints, drop_constraints)]
