"""``TENANTRY_MFA_KEY``: introducing it on a running deployment keeps what was sealed under the
database's key working (TOTP secrets open, recovery codes redeem), while new secrets are sealed
under it, so the database key alone no longer opens them."""

from __future__ import annotations

import pyotp
import sqlalchemy as sa

from mfa.helpers import REDIRECT_URL, database, post, settle, wait_for_next_step

KEY = "k" * 24 + "-mfa-master-key-for-tests"


def test_secrets_sealed_before_the_key_was_configured_still_work(server_factory):
    first = server_factory()
    with first.client() as api:
        post(
            api,
            "/v1/b2b/magic_links/email/discovery/send",
            {"email_address": "admin@clinic.com", "discovery_redirect_url": REDIRECT_URL},
        )
        token = first.latest_link_token("admin@clinic.com")
        ist = post(api, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})
        created = post(
            api,
            "/v1/b2b/discovery/organizations/create",
            {"intermediate_session_token": ist["intermediate_session_token"], "organization_slug": "clinic"},
        )
        org_id, member_id, session = (
            created["organization"]["organization_id"],
            created["member_id"],
            created["session_token"],
        )
        ids = {"organization_id": org_id, "member_id": member_id}
        enrolment = post(api, "/v1/b2b/totp", {**ids, "session_token": session})
        settle()
        post(
            api,
            "/v1/b2b/totp/authenticate",
            {**ids, "code": pyotp.TOTP(enrolment["secret"]).now(), "session_token": session},
        )
    first.stop()
    with database(first.database_url) as conn:
        old_key_ids = {
            c.split(".")[1] for c in conn.execute(sa.text("SELECT secret_ciphertext FROM totp_registrations")).scalars()
        }

    second = server_factory(env={"TENANTRY_MFA_KEY": KEY})
    with second.client() as api:
        wait_for_next_step()
        # The secret sealed under the database key still opens: the code authenticates.
        post(
            api,
            "/v1/b2b/totp/authenticate",
            {**ids, "code": pyotp.TOTP(enrolment["secret"]).now(), "session_token": session},
        )
        # And a recovery code issued under the database key still redeems.
        recovered = post(
            api,
            "/v1/b2b/recovery_codes/recover",
            {**ids, "recovery_code": enrolment["recovery_codes"][0], "session_token": session},
        )
        assert recovered["recovery_codes_remaining"] == 9
        rotated = post(api, "/v1/b2b/recovery_codes/rotate", ids)["recovery_codes"]
        assert api.get(f"/v1/b2b/recovery_codes/{org_id}/{member_id}").json()["recovery_codes"] == rotated
    second.stop()
    with database(first.database_url) as conn:
        new_key_ids = {
            c.split(".")[1] for c in conn.execute(sa.text("SELECT code_ciphertext FROM recovery_codes")).scalars()
        }
    assert len(old_key_ids) == 1 and len(new_key_ids) == 1 and old_key_ids != new_key_ids

    # Without the key again, the codes sealed under it cannot be read: no silent fallback.
    third = server_factory()
    with third.client() as api:
        resp = api.get(f"/v1/b2b/recovery_codes/{org_id}/{member_id}")
        assert resp.status_code == 500, resp.text
