"""The policy table, walked row by row: every (role, action) the table permits passes the route's role check,
every other pair gets 403 — on the real routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.access import policy
from shared.access.policy import Action, Role
from tests.api.test_schemes import baotou
from tests.conftest import MakeKey, bearer

KEY_ORG = {Role.ADMIN: None, Role.INTEGRATION: "150204000000", Role.ASSESSOR: "150200D002", Role.VIEWER: None}


def route(action: Action, scheme: int) -> tuple[str, str, dict[str, Any] | None]:
    """A request that exercises `action` and changes nothing (empty or unknown targets)."""
    return {
        Action.PUSH_OBSERVATIONS: ("POST", "/v1/observations", {"observations": []}),
        Action.FOLLOW_UP_RATING: ("POST", "/v1/ratings/999999999/followup", {"state": "核实中"}),
        Action.SET_TARGETS: ("PUT", "/v1/targets", {"targets": []}),
        Action.SCORE_ITEMS: ("POST", f"/v1/schemes/{scheme}/assessments", {"assessments": []}),
        Action.VERIFY: ("POST", "/v1/assessments/999999999/verify", None),
        Action.SET_SPLITS: ("PUT", f"/v1/schemes/{scheme}/splits", {"splits": []}),
        Action.SET_APPLICABILITY: ("PUT", f"/v1/schemes/{scheme}/applicability", {"applicability": []}),
        Action.PUBLISH: ("POST", f"/v1/schemes/{scheme}/publications", {"period": "1999H1"}),
    }[action]


ROUTED = [
    Action.PUSH_OBSERVATIONS,
    Action.FOLLOW_UP_RATING,
    Action.SET_TARGETS,
    Action.SCORE_ITEMS,
    Action.VERIFY,
    Action.SET_SPLITS,
    Action.SET_APPLICABILITY,
    Action.PUBLISH,
]


class TestPolicyTable:
    def test_every_rule_names_a_known_role_action_and_scope_once(self) -> None:
        pairs = [(r.role, r.action) for r in policy.RULES]
        assert len(pairs) == len(set(pairs))
        assert policy.scope_of("assessor", Action.SCORE_ITEMS) == policy.Scope.LED_ITEMS
        assert policy.scope_of("integration", Action.PUSH_OBSERVATIONS) == policy.Scope.OWN_SUBTREE
        assert policy.scope_of("integration", Action.FOLLOW_UP_RATING) == policy.Scope.OWN_SUBTREE
        assert policy.scope_of("nobody", Action.READ) is None

    def test_subtree_bounds_come_from_the_scope(self) -> None:
        assert policy.subtree_root("integration", 7, Action.FOLLOW_UP_RATING) == 7
        assert policy.subtree_root("integration", 7, Action.PUSH_OBSERVATIONS) == 7
        assert policy.subtree_root("admin", None, Action.FOLLOW_UP_RATING) is None

    @pytest.mark.parametrize("role", list(Role))
    @pytest.mark.parametrize("action", ROUTED)
    async def test_route_follows_the_table(
        self, client: httpx.AsyncClient, make_key: MakeKey, role: Role, action: Action
    ) -> None:
        scheme = (await baotou(client))["id"]
        method, path, body = route(action, scheme)
        key = await make_key(role.value, KEY_ORG[role])
        r = await client.request(method, path, json=body, headers=bearer(key))
        if policy.permits(role, action):
            assert r.status_code != 403, r.text
        else:
            assert r.status_code == 403, r.text
            assert r.json()["error"]["code"] == "forbidden"
