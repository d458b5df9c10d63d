"""The official Node SDK drives the MFA flow against a real server; the assertions live in
tests/node/mfa_flow.mjs (TOTP codes computed there with node:crypto)."""

from __future__ import annotations

from typing import Any

from node_flows import run_node_flow


def test_node_sdk_mfa_flow(server: Any) -> None:
    run_node_flow(server, "mfa_flow.mjs", expect="OK: Node SDK MFA flow passed", timeout=150)
