"""copy_format.staged_rows: PostgreSQL reads its bytes as exactly the rows psycopg's own COPY writes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from services.api.deps import Database
from shared.observations import copy_format
from shared.observations.validate import CheckedFigure

ROWS = [
    CheckedFigure(1, 2, date(2022, 5, 31), 12.0, 20.0, 60.0, 0),
    CheckedFigure(7, 150204, date(1999, 12, 31), None, None, 3.25, 1),  # a count; a day before 2000-01-01
    CheckedFigure(2**31 - 1, 1, date(9999, 12, 31), 0.0, 0.0, None, 2**31 - 1),  # 0/0: no value
    CheckedFigure(3, 4, date(1, 1, 1), 1e12, 1e-320, None, 3),
    CheckedFigure(3, 5, date(2000, 1, 1), -0.0, 5e-324, 0.1 + 0.2, 4),
    CheckedFigure(3, 6, date(2024, 2, 29), None, 7.0, None, 5),
    CheckedFigure(3, 7, date(2024, 3, 1), 5.0, None, None, 6),
]
COLUMNS = "a int4, b int4, d date, n float8, den float8, v float8, r int4"


async def test_postgresql_reads_the_rows_as_written(database: Database) -> None:
    async with database.sessions() as s:
        raw = (await (await s.connection()).get_raw_connection()).driver_connection
        for table in ("_by_us", "_by_psycopg"):
            await s.execute(text(f"CREATE TEMP TABLE {table} ({COLUMNS})"))
        async with raw.cursor() as cur:
            async with cur.copy("COPY _by_us FROM STDIN (FORMAT BINARY)") as copy:
                await copy.write(copy_format.staged_rows(ROWS))
            async with cur.copy("COPY _by_psycopg FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "int4", "date", "float8", "float8", "float8", "int4"])
                for row in ROWS:
                    await copy.write_row(row)
        ours = (await s.execute(text("SELECT * FROM _by_us ORDER BY r"))).all()
        theirs = (await s.execute(text("SELECT * FROM _by_psycopg ORDER BY r"))).all()
    written = sorted((tuple(r) for r in ROWS), key=lambda r: r[6])
    assert [tuple(r) for r in ours] == [tuple(r) for r in theirs] == written
    assert str({r[6]: r for r in ours}[4][3]) == "-0.0"  # the sign of zero survives, as psycopg's


def test_no_rows_is_a_valid_payload() -> None:
    assert copy_format.staged_rows([]) == copy_format.SIGNATURE + copy_format.TRAILER
