"""Candidate list benchmark: server time and query count with 100,000 candidates per company.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hrmos .venv/bin/python benchmarks/candidate_list.py

Creates a separate database (<name>_bench) on the same server, migrates it, loads 100,000
candidates into one company and 100,000 into another with COPY, runs VACUUM ANALYZE, then
times the list page in-process (Django's test Client: middleware, session, queries and
template rendering; no network), warm, --requests times per case. Drops the database at the
end unless --keep. Target: median < 150 ms per case on a 2-core machine.
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrmos.settings")

TARGET_MS = 150.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="candidates per company (default 100000)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per case (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each case's queries")
    return parser.parse_args()


def bench_database_url() -> tuple[str, str, str]:
    """(admin URL on the 'postgres' database, benchmark URL, benchmark database name)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name")
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "hrmos") + "_bench"
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path="/" + name)), name


def recreate_database(admin_url: str, name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def drop_database(admin_url: str, name: str) -> None:
    import psycopg2
    from django.db import connections

    connections.close_all()
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    connection.close()


COLUMNS = (
    "company_id",
    "last_name",
    "first_name",
    "last_name_kana",
    "first_name_kana",
    "email",
    "phone",
    "university",
    "faculty",
    "graduation_year",
    "stage_id",
    "agent_id",
    "memo",
    "created_at",
    "updated_at",
    "search_text",
)


def _copy_value(value: object) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def load_candidates(companies: list, rows: int, rng: random.Random) -> None:
    """COPY `rows` generated candidates into each company, in chunks of 20,000.

    The companies' rows are interleaved, as tenants' registrations are in a real database; one
    company's rows stored contiguously would flatter a plain company_id index scan.
    """
    from django.db import connection

    from candidates.management.commands.seed_demo import GIVEN_NAMES, SURNAMES, UNIVERSITIES
    from candidates.models import Agent, Stage
    from candidates.search import build_search_text

    setup = {}
    for company in companies:
        stages = list(Stage.objects.filter(company=company).order_by("position").values_list("pk", flat=True))
        agents = [
            Agent.objects.create(
                company=company, agency_name=f"エージェント{n:02d}株式会社", contact_name=f"担当{n}"
            ).pk
            for n in range(20)
        ]
        setup[company.pk] = (stages, agents)
    stage_weights = [30, 20, 15, 10, 6, 5, 9, 5]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    domains = ["example.com", "example.net", "example.org"]
    buffer = io.StringIO()
    total = rows * len(companies)
    for serial in range(total):
        company_id = companies[serial % len(companies)].pk
        index = serial // len(companies)
        stages, agents = setup[company_id]
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
        university, faculties = rng.choice(UNIVERSITIES)
        email = f"{given[2]}.{surname[2]}{index}@{domains[index % 3]}"
        created = start + timedelta(minutes=index * 7 + rng.randint(0, 6))
        values = (
            company_id,
            surname[0],
            given[0],
            surname[1],
            given[1],
            email,
            f"090-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            university,
            rng.choice(faculties),
            rng.choice([2026, 2027, 2027, 2028, 2028, 2029, None]),
            rng.choices(stages, weights=stage_weights[: len(stages)])[0],
            rng.choice(agents) if rng.random() < 0.1 else None,
            "",
            created.isoformat(),
            created.isoformat(),
            build_search_text(
                last_name=surname[0],
                first_name=given[0],
                last_name_kana=surname[1],
                first_name_kana=given[1],
                email=email,
                university=university,
            ),
        )
        buffer.write("\t".join(_copy_value(v) for v in values) + "\n")
        if (serial + 1) % 20_000 == 0 or serial + 1 == total:
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.cursor.copy_from(buffer, "candidates_candidate", columns=COLUMNS)
            buffer = io.StringIO()


def _pad(text: str, width: int) -> str:
    """Left-justify counting East Asian wide characters as two columns."""
    used = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(0, width - used)


def measure(client, url: str, requests: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm: caches, connection, compiled templates
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    timings.sort()
    return {
        "median": statistics.median(timings),
        "p95": timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)],
        "queries": len(queries),
        "rows": response.context["total"],
        "sql": [q["sql"] for q in queries.captured_queries],
    }


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    args = parse_args()
    admin_url, bench_url, name = bench_database_url()
    print(f"Creating database {name} …", flush=True)
    recreate_database(admin_url, name)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DEBUG", "1")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from candidates.models import Stage
    from hrmos.models import Company, User

    try:
        call_command("migrate", verbosity=0)
        settings.DEBUG = False  # no query logging overhead, as in production
        setup_test_environment()  # lets the test Client expose response.context
        company = Company.objects.create(name="ベンチマーク株式会社")
        other = Company.objects.create(name="よそのベンチマーク株式会社")
        rng = random.Random(100_000)  # reproducible data
        started = time.perf_counter()
        load_candidates([company, other], args.rows, rng)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE candidates_candidate")
        connection.connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE candidates_candidate")  # the visibility map for index-only counts
        print(f"Loaded {2 * args.rows:,} candidates in {time.perf_counter() - started:.1f} s", flush=True)

        user = User.objects.create_user(username="bench", password="bench-pass", company=company)  # noqa: S106
        client = Client()
        client.force_login(user)
        stage = Stage.objects.get(company=company, name="一次面接")
        per_page_default = 50
        page_500 = 500 if args.rows >= 500 * per_page_default else args.rows // per_page_default
        cases: list[tuple[str, dict[str, Any]]] = [
            ("plain list", {}),
            ("search 漢字 surname (3 chars: 佐々木)", {"q": "佐々木"}),
            ("search kana fragment (ハセガ)", {"q": "ハセガ"}),
            ("search 2 chars, field start (山本)", {"q": "山本"}),
            ("search full name with space (山田 花子)", {"q": "山田 花子"}),
            ("search email fragment (hina.sato)", {"q": "hina.sato"}),
            ("search university (早稲田大学)", {"q": "早稲田大学"}),
            ("filter stage + graduation year", {"stage": stage.pk, "year": 2028}),
            (f"page {page_500}", {"page": page_500}),
            ("sort by kana", {"sort": "kana"}),
            ("sort by stage", {"sort": "stage"}),
            ("sort by graduation year", {"sort": "-year"}),
            ("20 per page", {"per_page": 20}),
            ("100 per page", {"per_page": 100}),
        ]
        print(
            f"\nCandidate list, {args.rows:,} candidates in the company (+{args.rows:,} in another), "
            f"{args.requests} warm requests per case, PostgreSQL {getattr(connection, 'pg_version', 0) // 10000}\n"
        )
        header = f"{_pad('case', 44)} {'rows':>8} {'median ms':>10} {'p95 ms':>8} {'queries':>8}"
        print(header)
        print("-" * len(header))
        results = {}
        for label, params in cases:
            url = "/candidates/" + (f"?{urlencode(params)}" if params else "")
            result = measure(client, url, args.requests)
            results[label] = result
            flag = "" if result["median"] < TARGET_MS else "  ← over target"
            print(
                f"{_pad(label, 44)} {result['rows']:>8,} {result['median']:>10.1f} {result['p95']:>8.1f} "
                f"{result['queries']:>8}{flag}",
                flush=True,
            )
            if args.explain:
                for sql in result["sql"]:
                    if "candidates_candidate" in sql:
                        print("\n" + sql[:300] + "\n" + explain(sql) + "\n")
        counts = {results[label]["queries"] for label in ("20 per page", "plain list", "100 per page")}
        medians = [r["median"] for r in results.values()]
        print()
        print(f"Query count per page size 20/50/100: {sorted(counts)} ({'constant' if len(counts) == 1 else 'GROWS'})")
        print(
            f"Slowest median: {max(medians):.1f} ms (target < {TARGET_MS:.0f} ms): "
            f"{'OK' if max(medians) < TARGET_MS else 'OVER TARGET'}"
        )
    finally:
        if args.keep:
            print(f"\nKept database {name}.")
        else:
            drop_database(admin_url, name)


if __name__ == "__main__":
    main()
