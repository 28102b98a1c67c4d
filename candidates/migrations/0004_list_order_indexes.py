"""Indexes for the list's orderings, so a page's ids come from an index-only scan.

The stage index gains the default order's columns (stage filter + newest first needs no
sort). The graduation-year orders put candidates without a year last (NULLS LAST), which
SQLite cannot index: those two are created on PostgreSQL only.
"""

from django.db import migrations, models

YEAR_INDEXES_SQL = [
    "CREATE INDEX IF NOT EXISTS cand_company_year_asc ON candidates_candidate "
    "(company_id, graduation_year ASC NULLS LAST, created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS cand_company_year_desc ON candidates_candidate "
    "(company_id, graduation_year DESC NULLS LAST, created_at DESC, id DESC)",
]
DROP_YEAR_INDEXES_SQL = [
    "DROP INDEX IF EXISTS cand_company_year_asc",
    "DROP INDEX IF EXISTS cand_company_year_desc",
]


def run_on_postgresql(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("candidates", "0003_search_text_backfill_and_trigram"),
        ("hrmos", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="candidate",
            name="candidate_company_stage",
        ),
        migrations.AddIndex(
            model_name="candidate",
            index=models.Index(fields=["company", "stage", "-created_at", "-id"], name="cand_company_stage_created"),
        ),
        migrations.RunPython(run_on_postgresql(YEAR_INDEXES_SQL), run_on_postgresql(DROP_YEAR_INDEXES_SQL)),
    ]
