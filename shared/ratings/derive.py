"""The daily figures derived from 好差评 level counts (QS-11 分, 好评率, 差评率, 评价次数).

Pure: the store counts the ratings in SQL and writes the result through `write_observations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import NamedTuple

from shared.observations.types import ObservationIn

SCORE = "QS-11"  # 政务服务“好差评”: 评价总分/评价次数, in 分
GOOD = "HCP-GOOD"  # 好评率
BAD = "HCP-BAD"  # 差评率
COUNT = "HCP-COUNT"  # 评价次数

LEVELS = (1, 2, 3, 4, 5)
# The national 好差评 standard counts 非常满意, 满意 and 基本满意 as 好评, 不满意 and 非常不满意 as 差评.
GOOD_LEVELS = frozenset({3, 4, 5})
BAD_LEVELS = frozenset({1, 2})


class LevelCounts(NamedTuple):
    """How many ratings one unit received on one day, per level (5 非常满意 … 1 非常不满意)."""

    org: str
    day: date
    counts: dict[int, int]


def daily_figures(
    counts: Iterable[tuple[str, date, dict[int, int]]],
    level_points: Mapping[int, float],
) -> list[ObservationIn]:
    """Per (unit, day): QS-11 = Σ 分 / 评价次数, HCP-GOOD = 好评/次数, HCP-BAD = 差评/次数, HCP-COUNT = 次数.

    PRODUCT.md §2.4 (好差评). The level → 分 mapping is a setting (`RatingSettings.level_points`, default
    100/80/60/40/20) because no seed gives it. Ratios are sent as numerator and denominator so that they roll up
    over days and units; entries for the same (unit, day) add up, and a (unit, day) without ratings gives nothing.
    """
    merged: dict[tuple[str, date], dict[int, int]] = {}
    for org, day, by_level in counts:
        into = merged.setdefault((org, day), {})
        for level, n in by_level.items():
            if level not in LEVELS:
                raise ValueError(f"好差评 level must be 1–5, got {level}")
            if n < 0:
                raise ValueError(f"a count cannot be negative, got {n} for level {level}")
            into[level] = into.get(level, 0) + n
    missing = [level for level in LEVELS if level not in level_points]
    if missing:
        raise ValueError(f"level_points gives no 分 for levels {missing}")
    figures: list[ObservationIn] = []
    for (org, day), by_level in sorted(merged.items()):
        total = sum(by_level.values())
        if total == 0:
            continue
        points = sum(level_points[level] * n for level, n in by_level.items())
        good = sum(n for level, n in by_level.items() if level in GOOD_LEVELS)
        bad = sum(n for level, n in by_level.items() if level in BAD_LEVELS)
        figures += [
            ObservationIn(SCORE, org, day, numerator=points, denominator=total),
            ObservationIn(GOOD, org, day, numerator=good, denominator=total),
            ObservationIn(BAD, org, day, numerator=bad, denominator=total),
            ObservationIn(COUNT, org, day, value=total),
        ]
    return figures
