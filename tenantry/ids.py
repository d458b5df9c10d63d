"""Identifiers shaped like Stytch's, with the project's environment in them."""

from __future__ import annotations

import uuid


def environment_of(project_id: str) -> str:
    return "live" if project_id.startswith("project-live-") else "test"


def new_id(kind: str, project_id: str) -> str:
    """``organization-test-<uuid>``, ``member-live-<uuid>``, ..."""
    return f"{kind}-{environment_of(project_id)}-{uuid.uuid4()}"


def new_request_id() -> str:
    return f"request-id-test-{uuid.uuid4()}"
