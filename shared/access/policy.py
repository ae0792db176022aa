"""Authorization in one table (STYLE §11.1): which role may do which action, and within which scope.

Routes ask `permits(role, action)` (the role check) and the shared code checks the scope against the data it
touches (`scope_of`). tests/shared/access/test_policy.py walks the table row by row.

scopes
  anywhere        no restriction
  own_subtree     the key's unit and its descendants (integration keys: pushes, ratings follow-up)
  jurisdiction    the scheme's jurisdiction: a key without a unit, for the jurisdiction or its 专班 (admin keys)
  led_items       items the key's unit leads as 牵头考核单位 (assessor keys), for every unit that undertakes them
  led_groups      groups whose every item the key's unit leads alone (the seed lets it split their points)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # the 数字政府专班
    INTEGRATION = "integration"  # a platform pushing figures
    ASSESSOR = "assessor"  # a lead assessment unit (牵头考核单位)
    VIEWER = "viewer"


class Action(StrEnum):
    READ = "read"
    PUSH_OBSERVATIONS = "push_observations"
    FOLLOW_UP_RATING = "follow_up_rating"
    SET_TARGETS = "set_targets"
    SCORE_ITEMS = "score_items"  # item points of item-based methods (日常监测, 实地调研)
    ENTER_OVERALL = "enter_overall"  # 民意调查 / 第三方评估 scores, with their source
    ADJUST = "adjust"  # change verified points, with a reason
    VERIFY = "verify"  # verify or return a lead unit's points
    SET_SPLITS = "set_splits"
    SET_APPLICABILITY = "set_applicability"
    SCORE_AUTOMATIC = "score_automatic"  # compute monitoring points from linked indicators
    PUBLISH = "publish"


class Scope(StrEnum):
    ANYWHERE = "anywhere"
    OWN_SUBTREE = "own_subtree"
    JURISDICTION = "jurisdiction"
    LED_ITEMS = "led_items"
    LED_GROUPS = "led_groups"


@dataclass(frozen=True)
class Rule:
    role: Role
    action: Action
    scope: Scope


RULES: tuple[Rule, ...] = (
    *(Rule(role, Action.READ, Scope.ANYWHERE) for role in Role),
    Rule(Role.ADMIN, Action.PUSH_OBSERVATIONS, Scope.ANYWHERE),
    Rule(Role.INTEGRATION, Action.PUSH_OBSERVATIONS, Scope.OWN_SUBTREE),
    Rule(Role.ADMIN, Action.FOLLOW_UP_RATING, Scope.ANYWHERE),
    Rule(Role.INTEGRATION, Action.FOLLOW_UP_RATING, Scope.OWN_SUBTREE),
    Rule(Role.ADMIN, Action.SET_TARGETS, Scope.ANYWHERE),
    Rule(Role.ADMIN, Action.SCORE_ITEMS, Scope.JURISDICTION),
    Rule(Role.ASSESSOR, Action.SCORE_ITEMS, Scope.LED_ITEMS),
    Rule(Role.ADMIN, Action.ENTER_OVERALL, Scope.JURISDICTION),
    Rule(Role.ADMIN, Action.ADJUST, Scope.JURISDICTION),
    Rule(Role.ADMIN, Action.VERIFY, Scope.JURISDICTION),
    Rule(Role.ADMIN, Action.SET_SPLITS, Scope.JURISDICTION),
    Rule(Role.ASSESSOR, Action.SET_SPLITS, Scope.LED_GROUPS),
    Rule(Role.ADMIN, Action.SET_APPLICABILITY, Scope.JURISDICTION),
    Rule(Role.ADMIN, Action.SCORE_AUTOMATIC, Scope.JURISDICTION),
    Rule(Role.ASSESSOR, Action.SCORE_AUTOMATIC, Scope.LED_ITEMS),
    Rule(Role.ADMIN, Action.PUBLISH, Scope.JURISDICTION),
)

_BY_KEY = {(r.role, r.action): r.scope for r in RULES}


def scope_of(role: str, action: Action) -> Scope | None:
    """The scope in which `role` may do `action`, or None when it may not at all."""
    try:
        return _BY_KEY.get((Role(role), action))
    except ValueError:
        return None


def permits(role: str, action: Action) -> bool:
    return scope_of(role, action) is not None


def roles_for(action: Action) -> list[Role]:
    return [r.role for r in RULES if r.action == action]


def subtree_root(role: str, org_id: int | None, action: Action) -> int | None:
    """The unit whose subtree bounds `action` for a key of this role and unit (own_subtree); None = unbounded."""
    return org_id if scope_of(role, action) == Scope.OWN_SUBTREE else None
