"""Fill search_text for existing rows; on PostgreSQL add the pg_trgm GIN index that serves it.

pg_trgm does make trigrams of Japanese text on a UTF-8 cluster (show_trgm('山田花子') gives
five), so one GIN index over the lower-cased search_text serves `LIKE '%term%'` for names,
kana, email and university. SQLite has no such index: the operation is skipped there.
"""

from django.db import migrations

from candidates.search import build_search_text

CREATE_SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS candidate_search_trgm ON candidates_candidate USING gin (search_text gin_trgm_ops)",
]
# The extension is left installed on the way back: other objects may use it.
DROP_SQL = ["DROP INDEX IF EXISTS candidate_search_trgm"]


def backfill_search_text(apps, schema_editor) -> None:
    Candidate = apps.get_model("candidates", "Candidate")
    batch = []
    for candidate in Candidate.objects.all().iterator(chunk_size=2000):
        candidate.search_text = build_search_text(
            last_name=candidate.last_name,
            first_name=candidate.first_name,
            last_name_kana=candidate.last_name_kana,
            first_name_kana=candidate.first_name_kana,
            email=candidate.email,
            university=candidate.university,
        )
        batch.append(candidate)
        if len(batch) >= 2000:
            Candidate.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        Candidate.objects.bulk_update(batch, ["search_text"])


def run_on_postgresql(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("candidates", "0002_search_text_and_import_batch"),
    ]

    operations = [
        migrations.RunPython(backfill_search_text, migrations.RunPython.noop),
        migrations.RunPython(run_on_postgresql(CREATE_SQL), run_on_postgresql(DROP_SQL)),
    ]
