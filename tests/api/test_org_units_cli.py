"""`python -m services.api org-units import FILE [--prefix]` on a migrated, seeded SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.api.cli import main
from shared.core import migrations
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DatabaseSettings, get_settings
from shared.org_units import store as org_store
from shared.seeds import load as seed_load

CSV = seed_load.SEED_DIR / "divisions_150000_360100.csv"


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    migrations.upgrade(url)
    asyncio.run(_in_db(url, seed_load.load_all))
    monkeypatch.setenv("SCORECARD_DB__URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


async def _in_db(url: str, work):  # type: ignore[no-untyped-def]
    engine = make_engine(DatabaseSettings(url=url), "t")
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            return await work(s)
    finally:
        await engine.dispose()


def names(url: str) -> dict[str, str]:
    async def read(s):  # type: ignore[no-untyped-def]
        return {u.code: u.name for u in await org_store.list_units(s)}

    return asyncio.run(_in_db(url, read))  # type: ignore[no-any-return]


class TestImport:
    def test_import_then_again_changes_nothing(self, cli_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        changed = tmp_path / "divisions.csv"
        changed.write_text(CSV.read_text(encoding="utf-8").replace("富强路街道", "富强街道"), encoding="utf-8")
        assert main(["org-units", "import", str(changed), "--prefix", "150200"]) == 0
        out = capsys.readouterr().out
        assert "importing" in out and "1 updated, 0 closed, 101 unchanged" in out and "0 added" in out
        assert main(["org-units", "import", str(changed), "--prefix", "150200"]) == 0
        assert "nothing changed: 102 units already as in the file" in capsys.readouterr().out
        assert names(cli_db)["150204004000"] == "富强街道"

    def test_bad_file_is_a_clear_error_and_changes_nothing(self, cli_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        lines = CSV.read_text(encoding="utf-8").replace("富强路街道", "富强街道").splitlines()
        lines.insert(3, "15020X000000,坏区,county,150200000000")
        bad = tmp_path / "bad.csv"
        bad.write_text("\n".join(lines), encoding="utf-8")
        before = names(cli_db)
        assert main(["org-units", "import", str(bad)]) == 2
        printed = capsys.readouterr()
        assert "error: row 4, column code: '15020X000000' is not a 12-digit division code" in printed.err
        assert "Traceback" not in printed.out + printed.err and names(cli_db) == before

    def test_missing_file(self, cli_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        assert main(["org-units", "import", str(tmp_path / "nope.csv")]) == 2
        assert "error: cannot read" in capsys.readouterr().err
