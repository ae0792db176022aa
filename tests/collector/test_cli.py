"""The operators' CLI: check-sources, run --file, runs, backfill — on an SQLite file database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.collector.__main__ import main
from shared.core import migrations
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DatabaseSettings, get_settings
from shared.seeds import load as seed_load
from tests.collector.exports import SAMPLES


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    migrations.upgrade(url)

    async def seed() -> None:
        engine = make_engine(DatabaseSettings(url=url), "t")
        async with make_sessionmaker(engine)() as s, s.begin():
            await seed_load.load_all(s)
        await engine.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("SCORECARD_DB__URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


class TestCheckSources:
    def test_shipped_sources_are_valid(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["check-sources"]) == 0
        assert "3 sources OK (wangban, yichuang, haochaping)" in capsys.readouterr().out

    def test_bad_file_gets_a_precise_error(self, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
        bad = tmp_path / "sources.yaml"
        bad.write_text(
            "sources:\n  - id: x\n    url: ftp://nowhere\n    format: xls\n    schedule: '* *'\n", encoding="utf-8"
        )
        monkeypatch.setenv("SCORECARD_COLLECTOR__SOURCES_FILE", str(bad))
        get_settings.cache_clear()
        try:
            assert main(["check-sources"]) == 2
        finally:
            get_settings.cache_clear()
        err = capsys.readouterr().err
        assert "format" in err and "url" in err and "schedule" in err


class TestRunAndRuns:
    def test_run_a_local_file_then_list_runs(self, cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
        sample = SAMPLES / "wangban_stats_2022-05-31.xlsx"
        assert main(["run", "wangban", "--file", str(sample), "--date", "2022-05-31"]) == 0
        assert "succeeded: 10 rows accepted" in capsys.readouterr().out
        assert main(["run", "wangban", "--file", str(sample), "--date", "2022-05-31"]) == 0
        assert "skipped" in capsys.readouterr().out
        assert main(["runs", "--source", "wangban"]) == 0
        listing = capsys.readouterr().out.splitlines()
        assert "skipped" in listing[0] and "succeeded" in listing[1]

    def test_a_failed_run_says_what_it_met(self, cli_db: str, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
        broken = tmp_path / "w.xlsx"
        broken.write_bytes(b"PK\x03\x04 not a workbook")
        assert main(["run", "wangban", "--file", str(broken), "--date", "2022-05-31"]) == 1
        assert " wangban 2022-05-31 failed (export): " in capsys.readouterr().out

    @pytest.mark.parametrize("what", ["missing", "directory"])
    def test_a_file_that_is_not_an_export_file_is_named(self, cli_db, tmp_path, capsys, what) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / "export.csv"
        if what == "directory":
            path.mkdir()
        assert main(["run", "yichuang", "--file", str(path), "--date", "2022-05-31"]) == 2
        said = {"missing": "no such file", "directory": "not a regular file"}[what]
        assert f"--file {path}: {said}" in capsys.readouterr().err

    def test_unknown_source_is_named(self, cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["run", "nope"]) == 2
        assert "no source 'nope'" in capsys.readouterr().err


class TestRangesRefusedBeforeAnyFetch:
    """Days that cannot have an export, or a range that is a typo (1900 for 2019), are refused with a message
    before any fetch: before, a backfill from 1900 queued 46,026 runs of four tries each."""

    @pytest.mark.parametrize(("args", "says"), [
        (["backfill", "yichuang", "--from", "2022-05-01", "--to", "2099-01-01"], "--to 2099-01-01 is after today"),
        (["backfill", "yichuang", "--from", "1900-01-01", "--to", "2022-05-31"], "at most 3660 days"),
        (["backfill", "yichuang", "--from", "2022-05-31", "--to", "2022-05-01"], "is before --from"),
        (["run", "yichuang", "--date", "2099-01-01"], "--date 2099-01-01 is after today"),
    ], ids=["future", "too long", "reversed", "run in the future"])
    def test_refused_and_nothing_run(self, cli_db: str, capsys: pytest.CaptureFixture[str], args, says) -> None:  # type: ignore[no-untyped-def]
        assert main(args) == 2
        assert says in capsys.readouterr().err
        assert main(["runs"]) == 0 and capsys.readouterr().out == ""
