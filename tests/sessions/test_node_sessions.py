"""The official Node SDK lists, exchanges and revokes sessions against a live server; the
assertions live in tests/node/sessions_flow.mjs."""

from __future__ import annotations

from typing import Any

from node_flows import run_node_flow


def test_node_sdk_sessions_flow(server: Any) -> None:
    run_node_flow(server, "sessions_flow.mjs", expect="OK: Node SDK sessions flow passed", timeout=120)
