"""Tutorial step 5 with the official Node SDK exactly as the tutorial writes it: a clinic admin
invites staff; the assertions live in tests/node/invite_flow.mjs."""

from __future__ import annotations

from typing import Any

from node_flows import run_node_flow


def test_node_sdk_tutorial_step5_invites(server: Any) -> None:
    run_node_flow(server, "invite_flow.mjs", expect="OK")
