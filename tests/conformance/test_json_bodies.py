"""JSON in and out at the edges of the API: what a request body may hold, and that every value a
client stored comes back exactly (answers are encoded by ``tenantry.json_codec``)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_are_refused(server: Any, constant: str) -> None:
    # Python's parser alone accepts them; a NaN stored in metadata could never be answered as JSON.
    body = '{"organization_name": "Clinic", "trusted_metadata": {"x": ' + constant + "}}"
    with server.client() as client:
        resp = client.post("/v1/b2b/organizations", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_type"] == "bad_request"
    assert resp.json()["error_message"] == "The request body is not valid JSON."


def test_values_beyond_64_bits_and_non_ascii_text_come_back_exactly(server: Any) -> None:
    metadata = {"big": 2**70, "negative": -(2**65), "float": 0.1, "name": "Zoë 诊所 \u2028", "nested": [{"n": 1}]}
    with server.client() as client:
        body = {"organization_name": "Clinic", "trusted_metadata": metadata}
        created = client.post("/v1/b2b/organizations", json=body)
        assert created.status_code == 200, created.text
        organization_id = created.json()["organization"]["organization_id"]
        fetched = client.get(f"/v1/b2b/organizations/{organization_id}")
    assert created.json()["organization"]["trusted_metadata"] == metadata
    assert fetched.json()["organization"]["trusted_metadata"] == metadata
    assert fetched.headers["content-type"] == "application/json"
