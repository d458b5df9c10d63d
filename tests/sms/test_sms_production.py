"""Production mode: there is no dev SMS outbox, so without ``TENANTRY_SMS_URL`` a send is
refused with a clear Stytch-format error (nothing linked, nothing queued); a provider URL
without a sender is refused at start-up."""

from __future__ import annotations

import httpx
import pydantic
import pytest
import sqlalchemy as sa

from tenantry.config import Settings
from tenantry.sms.settings import SmsSettings

PHONE = "+12015550166"


def test_production_without_a_provider_refuses_sms_send(server_factory, database_url):
    # A closed port: production needs some SMTP relay to start; no mail is sent in this test.
    server = server_factory(env={"TENANTRY_MODE": "production", "TENANTRY_SMTP_URL": "smtp://127.0.0.1:9"})
    with server.client() as api:
        org = api.post("/v1/b2b/organizations", json={"organization_name": "Prod Clinic", "organization_slug": "prod"})
        assert org.status_code == 200, org.text
        org_id = org.json()["organization"]["organization_id"]
        member = api.post(f"/v1/b2b/organizations/{org_id}/members", json={"email_address": "nurse@prod.example.com"})
        assert member.status_code == 200, member.text
        member_id = member.json()["member_id"]

        refused = api.post(
            "/v1/b2b/otps/sms/send",
            json={"organization_id": org_id, "member_id": member_id, "mfa_phone_number": PHONE},
        )
        assert refused.status_code == 400
        body = refused.json()
        assert body["error_type"] == "billing_not_verified"
        assert "TENANTRY_SMS_URL" in body["error_message"]
        assert set(body) == {"status_code", "request_id", "error_type", "error_message", "error_url"}

        after = api.get(f"/v1/b2b/organizations/{org_id}/member", params={"member_id": member_id}).json()
        assert after["member"]["mfa_phone_number"] == ""
    assert httpx.get(f"{server.base_url}/dev/sms/api/messages", timeout=10).status_code == 404

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM sms_outbox")).scalar_one() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM sms_otps")).scalar_one() == 0
    finally:
        engine.dispose()


def test_a_provider_url_without_a_sender_is_refused_at_start_up(monkeypatch):
    with pytest.raises(pydantic.ValidationError, match="TENANTRY_SMS_FROM"):
        SmsSettings(url="https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json")
    monkeypatch.setenv("TENANTRY_SMS_URL", "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json")
    monkeypatch.delenv("TENANTRY_SMS_FROM", raising=False)
    with pytest.raises(pydantic.ValidationError, match="TENANTRY_SMS_FROM"):
        Settings()
