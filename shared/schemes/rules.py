"""Effective maxima (max_points) and the points-add-up checks of a scheme (PRODUCT.md §2.3): pure, exact.

A level's maximum is its own points as the seed gives them, else a split set later, else its share of what its
parent has left: the only unassigned child takes all of it (三(一) = 20), several share it equally (六(一), 六(二):
2.5 each; an equal third stays a third — Fractions throughout, rounded only for display)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from shared.core.errors import Problem
from shared.schemes.types import MaxSource

TOTAL_POINTS = Fraction(100)
# The decimals the columns keep (points NUMERIC(10, 4), overall scores NUMERIC(7, 3)): a figure with more would be
# stored rounded — not what was sent, and a split that no longer adds up.
POINT_PLACES = 4
SCORE_PLACES = 3


@dataclass(frozen=True)
class ItemDef:
    number: int
    points: Decimal | None = None
    split: Decimal | None = None


@dataclass(frozen=True)
class GroupDef:
    number: str  # （一）
    items: Sequence[ItemDef]
    points: Decimal | None = None
    split: Decimal | None = None


@dataclass(frozen=True)
class SectionDef:
    number: str  # 一
    points: Decimal
    groups: Sequence[GroupDef]


@dataclass(frozen=True)
class Maximum:
    points: Fraction
    source: MaxSource


@dataclass
class Maxima:
    groups: dict[tuple[str, str], Maximum] = field(default_factory=dict)  # (section, group) → max
    items: dict[int, Maximum] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _given(points: Decimal | None, split: Decimal | None) -> Maximum | None:
    if points is not None:
        return Maximum(Fraction(points), MaxSource.SEED)
    if split is not None:
        return Maximum(Fraction(split), MaxSource.SPLIT)
    return None


def _share(label: str, parent: Fraction, children: Sequence[Maximum | None], problems: list[Problem]) -> list[Maximum]:
    """Each child's maximum: its own, or an equal share of what the parent has left; checks the sum."""
    assigned = sum((c.points for c in children if c is not None), Fraction(0))
    open_count = sum(c is None for c in children)
    left = parent - assigned
    if open_count == 0 and left != 0:
        problems.append(
            Problem(f"{label}: its parts add up to {show(assigned)}, {_difference(left)} its {show(parent)}")
        )
    elif open_count and left <= 0:
        problems.append(
            Problem(
                f"{label}: its assigned parts add up to {show(assigned)}, leaving nothing of {show(parent)} "
                f"for the {open_count} without points"
            )
        )
    source = MaxSource.WHOLE_PARENT if open_count == 1 else MaxSource.EQUAL_SHARE
    share = left / open_count if open_count else Fraction(0)
    return [c if c is not None else Maximum(share, source) for c in children]


def maxima(sections: Sequence[SectionDef]) -> Maxima:
    """Every group's and item's effective maximum, and every level whose points do not add up to its parent."""
    out = Maxima()
    total = sum((Fraction(s.points) for s in sections), Fraction(0))
    if total != TOTAL_POINTS:
        out.problems.append(Problem(f"sections add up to {show(total)}, {_difference(TOTAL_POINTS - total)} 100"))
    for section in sections:
        group_max = _share(
            f"section {section.number}",
            Fraction(section.points),
            [_given(g.points, g.split) for g in section.groups],
            out.problems,
        )
        for group, gmax in zip(section.groups, group_max, strict=True):
            out.groups[(section.number, group.number)] = gmax
            item_max = _share(
                f"group {section.number}{group.number}",
                gmax.points,
                [_given(i.points, i.split) for i in group.items],
                out.problems,
            )
            out.items.update({i.number: m for i, m in zip(group.items, item_max, strict=True)})
    return out


def weight_problems(weights: dict[str, Decimal]) -> list[Problem]:
    """Method weights (日常监测 0.6 …) are each in (0, 1] and sum to exactly 1."""
    problems = [
        Problem(f"weight {w} is not in (0, 1]", field=f"methods.{c}") for c, w in weights.items() if not 0 < w <= 1
    ]
    total = sum(weights.values(), Decimal(0))
    if total != 1:
        problems.append(Problem(f"method weights add up to {total}, not 1", field="methods"))
    return problems


def within_places(x: Decimal, places: int) -> bool:
    """`x` (already within its bounds, so quantizing cannot overflow) has at most `places` decimals."""
    return x == x.quantize(Decimal(1).scaleb(-places))


def highest_entry(x: Fraction) -> Fraction:
    """The most points an entry may carry for a maximum of `x`: x itself, or for a maximum with more decimals than
    points keep (2/3) the next 4-decimal number (0.6667), counted as the maximum — full marks stay enterable."""
    scaled = x * 10**POINT_PLACES
    return Fraction(-(-scaled.numerator // scaled.denominator), 10**POINT_PLACES)


def show(x: Fraction) -> str:
    """A fraction for a person: exact where it is a short decimal, else to 4 places with the fraction beside it."""
    as_decimal = Decimal(x.numerator) / Decimal(x.denominator)
    if as_decimal == as_decimal.quantize(Decimal("0.0001")):
        return f"{as_decimal.normalize():f}"
    return f"{as_decimal:.4f} ({x})"


def _difference(left: Fraction) -> str:
    return f"{show(abs(left))} {'less than' if left > 0 else 'more than'}"
