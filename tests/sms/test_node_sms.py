"""The official Node SDK completes MFA by SMS against a live server, reading the code from the
dev SMS outbox; the assertions live in tests/node/sms_mfa_flow.mjs."""

from __future__ import annotations

from typing import Any

from node_flows import run_node_flow


def test_node_sdk_completes_mfa_by_sms(server: Any) -> None:
    run_node_flow(server, "sms_mfa_flow.mjs", expect="OK: Node SDK SMS MFA flow passed")
