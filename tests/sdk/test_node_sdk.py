"""The official Stytch Node SDK (npm `stytch` 14.2.0) runs the discovery flow (tutorial steps 1-4)
against a live Tenantry server, on SQLite and PostgreSQL; the assertions live in
tests/node/discovery_flow.mjs."""

from __future__ import annotations

from typing import Any

from node_flows import run_node_flow


def test_node_sdk_discovery_flow(server: Any) -> None:
    run_node_flow(server, "discovery_flow.mjs", expect="OK: Node SDK discovery flow passed")
