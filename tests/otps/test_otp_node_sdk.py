"""The official Node SDK runs the email OTP flow (discovery and organization login) against a
live server; the assertions live in tests/node/otp_flow.mjs."""

from __future__ import annotations

from typing import Any

from node_flows import run_node_flow


def test_node_sdk_email_otp_flow(server: Any) -> None:
    run_node_flow(server, "otp_flow.mjs", expect="OK: Node SDK email OTP flow passed")
