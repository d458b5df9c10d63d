"""The Twilio-compatible SMS backend against a real local HTTP server (``fake_provider``):
Tenantry posts To/From/Body with Basic AccountSid:AuthToken to the configured Messages URL,
keeps the provider's message SID, retries what the provider could not take, gives up on what it
refused, and erases the body either way. No dev SMS outbox exists then."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from sms.fake_provider import FakeProvider
from sms.helpers import clinic_requiring_mfa, login_stopped_at_mfa
from tenantry.sms.senders import SmsMessage, SmsSendError, TwilioCompatibleSender
from tenantry.sms.settings import SmsSettings

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "tw-auth-token-for-tests"
SENDER = "+15005550006"
PHONE = "+12015550177"


def outbox_rows(url: str) -> list[Any]:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT * FROM sms_outbox ORDER BY created_at")))
    finally:
        engine.dispose()


def wait_for_status(url: str, status: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = outbox_rows(url)
        if rows and rows[-1].status == status:
            return rows[-1]
        time.sleep(0.1)
    raise AssertionError(f"outbox never reached {status}: {rows}")


def provider_env(provider: FakeProvider) -> dict[str, str]:
    return {
        "TENANTRY_SMS_URL": f"http://127.0.0.1:{provider.port}/2010-04-01/Accounts/{{sid}}/Messages.json",
        "TENANTRY_SMS_USERNAME": ACCOUNT_SID,
        "TENANTRY_SMS_PASSWORD": AUTH_TOKEN,
        "TENANTRY_SMS_FROM": SENDER,
    }


def start_mfa_login(server: Any, stytch_client_factory: Any) -> tuple[Any, str, str, str]:
    client = stytch_client_factory(server)
    org_id, _admin = clinic_requiring_mfa(server, client)
    stopped = login_stopped_at_mfa(server, client, "nurse@clinic.com", org_id)
    return client, org_id, stopped.member.member_id, stopped.intermediate_session_token


def test_codes_leave_through_the_provider_and_complete_mfa(server_factory, stytch_client_factory):
    with FakeProvider() as provider:
        server = server_factory(env=provider_env(provider))
        client, org_id, member_id, ist = start_mfa_login(server, stytch_client_factory)
        client.otps.sms.send(
            organization_id=org_id, member_id=member_id, mfa_phone_number=PHONE, intermediate_session_token=ist
        )
        [request] = provider.wait_for(1)
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        assert request.credentials == f"{ACCOUNT_SID}:{AUTH_TOKEN}"
        assert request.content_type.startswith("application/x-www-form-urlencoded")
        assert (request.form["To"], request.form["From"]) == (PHONE, SENDER)
        [code] = re.findall(r"\b\d{6}\b", request.form["Body"])

        done = client.otps.sms.authenticate(
            organization_id=org_id, member_id=member_id, code=code, intermediate_session_token=ist
        )
        assert {f.type for f in done.member_session.authentication_factors} == {"magic_link", "otp"}

        row = wait_for_status(server.database_url, "sent")
        assert row.provider_message_id == "SM" + f"{1:032x}"
        assert row.body_sealed is None and row.attempts == 1
        # With a provider configured there is no dev SMS outbox.
        assert httpx.get(f"{server.base_url}/dev/sms/api/messages", timeout=10).status_code == 404


def test_provider_trouble_is_retried_and_a_refusal_is_final(server_factory, stytch_client_factory):
    with FakeProvider() as provider:
        provider.script = [(503, {"code": 20503, "message": "Service Unavailable"})]
        server = server_factory(env=provider_env(provider))
        client, org_id, member_id, ist = start_mfa_login(server, stytch_client_factory)
        client.otps.sms.send(
            organization_id=org_id, member_id=member_id, mfa_phone_number=PHONE, intermediate_session_token=ist
        )
        first, retried = provider.wait_for(2)  # the retry comes after a 2 s backoff
        assert first.form == retried.form  # the very same text, redelivered
        sent = wait_for_status(server.database_url, "sent")
        assert sent.attempts == 2 and sent.body_sealed is None

        # A refusal of the message itself (Twilio 21211: invalid To) is not retried.
        provider.script = [(400, {"code": 21211, "message": "The 'To' number is not a valid phone number."})]
        client.otps.sms.send(organization_id=org_id, member_id=member_id, intermediate_session_token=ist)
        provider.wait_for(3)
        dead = wait_for_status(server.database_url, "dead")
        assert dead.attempts == 1 and dead.body_sealed is None
        assert "400" in dead.last_error and "21211" in dead.last_error
        time.sleep(3)  # longer than the first backoff: no second try arrives
        assert len(provider.received) == 3


def test_a_text_queued_while_the_provider_is_down_leaves_after_a_restart(server_factory, stytch_client_factory):
    """Durability: the text is a database row, so a server stopped while the provider refused it
    leaves it queued, and another server on the same database delivers it (sealed under the
    database's key, which every server shares) and its code still completes MFA."""
    with FakeProvider() as provider:
        provider.script = [(503, {"code": 20503, "message": "Service Unavailable"})] * 3
        first = server_factory(env=provider_env(provider))
        client, org_id, member_id, ist = start_mfa_login(first, stytch_client_factory)
        client.otps.sms.send(
            organization_id=org_id, member_id=member_id, mfa_phone_number=PHONE, intermediate_session_token=ist
        )
        provider.wait_for(1)
        first.stop()
        assert outbox_rows(first.database_url)[-1].status == "queued"

        provider.script = []
        second = server_factory(env=provider_env(provider))
        wait_for_status(second.database_url, "sent")
        delivered = provider.received[-1]
        assert delivered.form["To"] == PHONE
        [code] = re.findall(r"\b\d{6}\b", delivered.form["Body"])
        done = stytch_client_factory(second).otps.sms.authenticate(
            organization_id=org_id, member_id=member_id, code=code, intermediate_session_token=ist
        )
        assert done.session_token


def test_sender_options_against_the_provider():
    """Credentials in the URL, and a Messaging Service SID instead of a From number."""
    service_sid = "MG" + "f" * 32
    message = SmsMessage(id="abc", to=PHONE, body="123456 is your code", created_at=datetime.now(UTC))

    async def scenario(provider: FakeProvider) -> None:
        settings = SmsSettings(
            url=f"http://{ACCOUNT_SID}:{AUTH_TOKEN}@127.0.0.1:{provider.port}/Messages.json", sender=service_sid
        )
        sender = TwilioCompatibleSender(settings)
        try:
            assert await sender.send(message) == "SM" + f"{1:032x}"
            provider.script = [(401, {"code": 20003, "message": "Authenticate"})]
            with pytest.raises(SmsSendError) as refused:
                await sender.send(message)
            assert refused.value.permanent and "20003" in str(refused.value)
            provider.script = [(429, {"code": 20429, "message": "Too Many Requests"})]
            with pytest.raises(SmsSendError) as busy:
                await sender.send(message)
            assert not busy.value.permanent
        finally:
            await sender.close()

    with FakeProvider() as provider:
        asyncio.run(scenario(provider))
        request = provider.received[0]
        assert request.credentials == f"{ACCOUNT_SID}:{AUTH_TOKEN}"
        assert request.form == {"To": PHONE, "MessagingServiceSid": service_sid, "Body": "123456 is your code"}

    # A closed port: a transient failure, to be retried.
    async def unreachable() -> None:
        sender = TwilioCompatibleSender(SmsSettings(url="http://127.0.0.1:9/Messages.json", sender=SENDER))
        try:
            with pytest.raises(SmsSendError) as down:
                await sender.send(message)
            assert not down.value.permanent
        finally:
            await sender.close()

    asyncio.run(unreachable())
