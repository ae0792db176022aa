"""shared.observations.org_tree: importing an official division list (idempotent, closes vanished regions, never
departments, rebuilds roll-ups, refuses a bad file whole) on the seeded database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import Database
from shared.core.errors import InvalidInput
from shared.core.periods import parse_period
from shared.indicators import store as indicator_store
from shared.observations import org_tree
from shared.observations import store as observation_store
from shared.observations.types import ObservationIn
from shared.org_units import store as org_store
from shared.seeds.load import SEED_DIR
from shared.values import rollup
from tests.builders import FUQIANG, QINGSHAN

TODAY = date(2026, 12, 1)
ZONE = "150271000000"  # 包头稀土高新技术产业开发区
LINES = (SEED_DIR / "divisions_150000_360100.csv").read_text(encoding="utf-8").splitlines()
BAOTOU_CSV = [line for line in LINES if line.startswith(("code,", "1502"))]  # 包头's 102 rows and the header


def csv_text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


async def import_(s: AsyncSession, lines: list[str], prefix: str | None = "150200") -> org_store.TreeChange:
    return await org_tree.import_divisions(s, csv_text(lines), prefix=prefix, today=TODAY)


async def snapshot(s: AsyncSession) -> list[tuple[object, ...]]:
    units = await org_store.list_units(s)
    return [(u.code, u.name, u.kind, u.level, u.parent_id, u.valid_from, u.valid_to) for u in units]


class TestImportDivisions:
    async def test_the_seeded_tree_is_already_the_list(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            change = await import_(s, BAOTOU_CSV)
            assert (change.added, change.updated, change.closed, change.unchanged) == (0, 0, 0, 102)
            assert not change.changed

    async def test_second_import_changes_nothing(self, any_database: Database) -> None:
        renamed = [line.replace("富强路街道", "富强街道") for line in BAOTOU_CSV]
        async with any_database.sessions() as s:
            first = await import_(s, renamed)
            assert (first.added, first.updated, first.closed) == (0, 1, 0)
            before = await snapshot(s)
            second = await import_(s, renamed)
            assert not second.changed and second.unchanged == 102
            assert await snapshot(s) == before
            assert (await org_store.get_by_code(s, FUQIANG)).name == "富强街道"

    async def test_vanished_region_is_closed_never_a_department(self, any_database: Database) -> None:
        without = [line for line in BAOTOU_CSV if not line.startswith("150204008000")]  # 乌素图街道
        async with any_database.sessions() as s:
            change = await import_(s, without)
            assert (change.added, change.closed) == (0, 1)
            gone = await org_store.get_by_code(s, "150204008000")
            assert gone.valid_to == TODAY and gone.name == "乌素图街道"  # closed, not deleted
            depts = await org_store.list_units(s, parent="150200000000", kind="department")
            assert len(depts) == 27 and {d.valid_to for d in depts} == {None}
            reopened = await import_(s, BAOTOU_CSV)
            assert (reopened.updated, reopened.closed) == (1, 0)
            assert (await org_store.get_by_code(s, "150204008000")).valid_to is None

    async def test_whole_file_without_prefix_adds_the_rest(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            change = await import_(s, LINES, prefix=None)
            assert change.added == 1496 - 102 - 3 and change.closed == 0  # all but the seeded region rows

    async def test_a_moved_street_counts_in_its_new_county_at_once(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await observation_store.write_observations(
                s, [ObservationIn("QS-11", FUQIANG, date(2022, 5, 31), 450, 5)], source="t", actor="t",
                today=date(2022, 12, 31))  # fmt: skip
            assert await rolled_up(s, QINGSHAN) == 450
            # 富强路街道 handed to the 稀土高新区 (托管): same code, new parent.
            moved = [line.replace("富强路街道,township,150204000000", f"富强路街道,township,{ZONE}")
                     for line in BAOTOU_CSV]
            assert (await import_(s, moved)).updated == 1
            assert await rolled_up(s, ZONE) == 450
            assert await rolled_up(s, QINGSHAN) is None  # nothing left under 青山区


async def rolled_up(s: AsyncSession, code: str) -> float | None:
    """QS-11's numerator (好差评 总分, a flow) for May 2022. One month of a flow is read from the region-level
    rows (rollup_months), the ones a tree change must rebuild: a stale row would still count under 青山区."""
    ind = await indicator_store.get_by_code(s, "QS-11")
    root = (await org_store.get_by_code(s, code)).id
    fast, _ = await rollup.rolled_up(s, indicator_id=ind.id, time_aggregation="sum", rollup_rule="sum",
                                     root_ids=[root], period=parse_period("2022-05"))
    return fast[root].numerator if root in fast else None


class TestBadFile:
    @pytest.mark.parametrize(
        ("edit", "row", "column"),
        [
            (lambda rows: [rows[0].replace("parent_code", "parent")] + rows[1:], 1, "parent_code"),
            (lambda rows: rows[:5] + ["1502049X9000,坏街道,township,150204000000"] + rows[5:], 6, "code"),
            (lambda rows: rows + ["150204999000,新街道,township,150299000000"], 104, "parent_code"),
        ],
        ids=["missing-column", "bad-code", "unknown-parent"],
    )
    async def test_clear_error_and_nothing_changed(self, any_database: Database, edit, row, column) -> None:  # type: ignore[no-untyped-def]
        renamed = [line.replace("富强路街道", "富强街道") for line in BAOTOU_CSV]  # would change a unit
        async with any_database.sessions() as s:
            before = await snapshot(s)
            with pytest.raises(InvalidInput) as caught:
                await import_(s, edit(renamed))
            assert (caught.value.details[0].row, caught.value.details[0].field) == (row, column)
            assert await snapshot(s) == before
