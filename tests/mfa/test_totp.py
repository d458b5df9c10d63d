"""TOTP and MFA policy details over plain HTTP against a real server (SQLite and PostgreSQL):
the ±1 step window, single use, attempt limits that hold under concurrency, expiry of an
unverified registration, the organization's method restrictions, member-level ``mfa_enrolled``,
and enrolment that must not bypass an existing factor."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import sqlalchemy as sa

from mfa.helpers import REDIRECT_URL, code_at, database, factor_types, post, settle, wait_for_next_step

ADMIN = "admin@clinic.com"


def error_of(resp: httpx.Response) -> tuple[int, str]:
    body = resp.json()
    assert body["status_code"] == resp.status_code, body
    return resp.status_code, body["error_type"]


def login(server: Any, api: httpx.Client, email: str) -> dict[str, Any]:
    already = len(server.mailbox(email))
    post(
        api,
        "/v1/b2b/magic_links/email/discovery/send",
        {"email_address": email, "discovery_redirect_url": REDIRECT_URL},
    )
    token = server.latest_link_token(email, count=already + 1)
    return post(api, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})


def new_clinic(server: Any, api: httpx.Client, **settings: Any) -> dict[str, Any]:
    auth = login(server, api, ADMIN)
    return post(
        api,
        "/v1/b2b/discovery/organizations/create",
        {
            "intermediate_session_token": auth["intermediate_session_token"],
            "organization_name": "Clinic",
            "organization_slug": "clinic",
            "email_allowed_domains": ["clinic.com"],
            "email_jit_provisioning": "RESTRICTED",
            **settings,
        },
    )


def enrol(api: httpx.Client, org_id: str, member_id: str, session_token: str) -> dict[str, Any]:
    """Enrol TOTP as a step-up of ``session_token``; returns the create response."""
    created = post(
        api, "/v1/b2b/totp", {"organization_id": org_id, "member_id": member_id, "session_token": session_token}
    )
    settle()
    post(
        api,
        "/v1/b2b/totp/authenticate",
        {
            "organization_id": org_id,
            "member_id": member_id,
            "code": pyotp.TOTP(created["secret"]).now(),
            "session_token": session_token,
        },
    )
    return created


def ids_of(clinic: dict[str, Any]) -> tuple[str, str, str]:
    """Organization id, admin member id and admin session token of a ``new_clinic`` answer."""
    return clinic["organization"]["organization_id"], clinic["member_id"], clinic["session_token"]


def test_codes_within_one_step_work_once_and_never_after_a_newer_one(server):
    with server.client() as api:
        clinic = new_clinic(server, api)
        org_id, member_id, token = ids_of(clinic)
        created = post(api, "/v1/b2b/totp", {"organization_id": org_id, "member_id": member_id, "session_token": token})
        secret = created["secret"]
        assert pyotp.parse_uri(f"otpauth://totp/x?secret={secret}").secret == secret
        assert len(secret) == 32

        def attempt(code: str) -> httpx.Response:
            body = {"organization_id": org_id, "member_id": member_id, "code": code, "session_token": token}
            return api.post("/v1/b2b/totp/authenticate", json=body)

        settle(margin=12)
        assert error_of(attempt(code_at(secret, +2))) == (401, "unable_to_authenticate_totp")
        assert error_of(attempt(code_at(secret, -2))) == (401, "unable_to_authenticate_totp")
        previous = attempt(code_at(secret, -1))
        assert previous.status_code == 200, previous.text
        assert previous.json()["member"]["totp_registration_id"] == created["totp_registration_id"]
        assert attempt(code_at(secret, 0)).status_code == 200
        assert error_of(attempt(code_at(secret, 0))) == (401, "totp_code_already_authenticated")
        assert error_of(attempt(code_at(secret, -1))) == (401, "totp_code_already_authenticated")
        final = attempt(code_at(secret, +1))
        assert final.status_code == 200
        assert factor_types(final.json()["member_session"]["authentication_factors"]) == {"magic_link", "totp"}
        assert error_of(attempt("12345")) == (400, "invalid_totp_code")
        # Enrolled now: a second registration is refused until this one is deleted.
        again = api.post(
            "/v1/b2b/totp", json={"organization_id": org_id, "member_id": member_id, "session_token": token}
        )
        assert error_of(again) == (400, "active_totp_exists")


def test_five_attempts_then_429_even_under_concurrency(server):
    with server.client() as api:
        clinic = new_clinic(server, api)
        org_id, member_id, token = ids_of(clinic)
        secret = post(api, "/v1/b2b/totp", {"organization_id": org_id, "member_id": member_id, "session_token": token})[
            "secret"
        ]
        good = pyotp.TOTP(secret)
        wrong = f"{(int(good.now()) + 500_000) % 1_000_000:06d}"

    def attempt(code: str) -> int:
        with server.client() as own:
            body = {"organization_id": org_id, "member_id": member_id, "code": code, "session_token": token}
            return own.post("/v1/b2b/totp/authenticate", json=body).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(attempt, [wrong] * 24))
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 19, statuses
    # Locked: even the right code is refused now, and is not even compared.
    settle()
    assert attempt(good.now()) == 429
    with database(server.database_url) as conn:
        row = conn.execute(sa.text("SELECT failures FROM mfa_attempts WHERE member_id = :m"), {"m": member_id}).one()
        assert row.failures == 5
        # The window passes: attempts are available again, and a success resets the count.
        conn.execute(
            sa.text("UPDATE mfa_attempts SET window_ends_at = :t WHERE member_id = :m"),
            {"t": datetime.now(UTC) - timedelta(seconds=1), "m": member_id},
        )
    settle()
    assert attempt(good.now()) == 200
    with database(server.database_url) as conn:
        assert (
            conn.execute(sa.text("SELECT failures FROM mfa_attempts WHERE member_id = :m"), {"m": member_id}).scalar()
            == 0
        )


def test_an_unverified_registration_expires_and_options_are_checked(server):
    with server.client() as api:
        clinic = new_clinic(server, api)
        org_id, member_id, token = ids_of(clinic)
        base = {"organization_id": org_id, "member_id": member_id}
        assert error_of(api.post("/v1/b2b/totp", json={**base, "expiration_minutes": 4})) == (400, "invalid_argument")
        assert error_of(api.post("/v1/b2b/totp", json={**base, "expiration_minutes": 1441})) == (
            400,
            "invalid_argument",
        )
        unknown = api.post(
            "/v1/b2b/totp", json={**base, "member_id": "member-test-00000000-0000-0000-0000-000000000000"}
        )
        assert error_of(unknown) == (404, "member_not_found")
        assert error_of(api.post("/v1/b2b/totp", json={**base, "organization_id": "nope"})) == (
            404,
            "organization_not_found",
        )
        created = post(api, "/v1/b2b/totp", {**base, "expiration_minutes": 5})
        with database(server.database_url) as conn:
            conn.execute(
                sa.text("UPDATE totp_registrations SET expires_at = :t WHERE member_id = :m"),
                {"t": datetime.now(UTC) - timedelta(seconds=1), "m": member_id},
            )
        settle()
        late = api.post(
            "/v1/b2b/totp/authenticate",
            json={**base, "code": pyotp.TOTP(created["secret"]).now(), "session_token": token},
        )
        assert error_of(late) == (404, "totp_not_found")

        # A code alone is no login: without an IST or session it is refused (and not spent).
        fresh = post(api, "/v1/b2b/totp", base)
        settle()
        code = pyotp.TOTP(fresh["secret"]).now()
        alone = api.post("/v1/b2b/totp/authenticate", json={**base, "code": code})
        assert error_of(alone) == (400, "action_available_only_once_primary_authentication_is_met")
        both = api.post(
            "/v1/b2b/totp/authenticate",
            json={**base, "code": code, "session_token": token, "intermediate_session_token": "x"},
        )
        assert error_of(both) == (400, "too_many_session_arguments")
        assert api.post("/v1/b2b/totp/authenticate", json={**base, "code": code, "session_token": token}).is_success

        # Another member's IST does not complete this member's MFA.
        other = login(server, api, "someone@else.org")
        foreign = api.post(
            "/v1/b2b/recovery_codes/recover",
            json={
                **base,
                "recovery_code": fresh["recovery_codes"][0],
                "intermediate_session_token": other["intermediate_session_token"],
            },
        )
        assert error_of(foreign) == (400, "invalid_intermediate_session_token_for_organization")


def test_organization_mfa_settings_are_validated_and_restrict_methods(server):
    with server.client() as api:
        clinic = new_clinic(server, api)
        org_id, member_id = clinic["organization"]["organization_id"], clinic["member_id"]
        path = f"/v1/b2b/organizations/{org_id}"
        assert error_of(api.put(path, json={"mfa_policy": "SOMETIMES"})) == (400, "invalid_organization_mfa_policy")
        assert error_of(api.put(path, json={"allowed_mfa_methods": ["email"]})) == (
            400,
            "invalid_organization_allowed_mfa_methods",
        )
        assert error_of(api.put(path, json={"mfa_methods": "RESTRICTED"})) == (
            400,
            "allowed_mfa_methods_required_for_restricted",
        )
        updated = api.put(path, json={"mfa_methods": "RESTRICTED", "allowed_mfa_methods": ["sms_otp"]})
        assert updated.status_code == 200
        assert updated.json()["organization"]["allowed_mfa_methods"] == ["sms_otp"]
        refused = api.post("/v1/b2b/totp", json={"organization_id": org_id, "member_id": member_id})
        assert error_of(refused) == (403, "operation_restricted_by_organization_mfa_methods")


def test_member_level_enrolment_and_default_method(server):
    with server.client() as api:
        clinic = new_clinic(server, api)
        org_id, member_id, token = ids_of(clinic)
        member_path = f"/v1/b2b/organizations/{org_id}/members/{member_id}"
        assert error_of(api.put(member_path, json={"default_mfa_method": "totp"})) == (
            400,
            "default_mfa_member_missing_factor",
        )
        assert error_of(api.put(member_path, json={"default_mfa_method": "email"})) == (
            400,
            "invalid_mfa_default_method",
        )
        created = enrol(api, org_id, member_id, token)

        # The organization is OPTIONAL, but this member opted in: logins now stop for MFA.
        opted = api.put(member_path, json={"mfa_enrolled": True})
        assert opted.json()["member"]["mfa_enrolled"] is True
        auth = login(server, api, ADMIN)
        assert auth["discovered_organizations"][0]["member_authenticated"] is False
        held = post(
            api,
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {"intermediate_session_token": auth["intermediate_session_token"], "organization_id": org_id},
        )
        assert held["member_authenticated"] is False and held["session_jwt"] == ""
        assert held["mfa_required"]["member_options"] == {
            "mfa_phone_number": "",
            "totp_registration_id": created["totp_registration_id"],
        }
        wait_for_next_step()  # the enrolment spent this step's code
        done = post(
            api,
            "/v1/b2b/totp/authenticate",
            {
                "organization_id": org_id,
                "member_id": member_id,
                "code": pyotp.TOTP(created["secret"]).now(),
                "intermediate_session_token": held["intermediate_session_token"],
                "set_mfa_enrollment": "unenroll",
            },
        )
        assert done["member"]["mfa_enrolled"] is False
        assert done["member"]["default_mfa_method"] == "totp"
        # Opted out again: the next login is complete with the email factor alone.
        auth = login(server, api, ADMIN)
        straight = post(
            api,
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {"intermediate_session_token": auth["intermediate_session_token"], "organization_id": org_id},
        )
        assert straight["member_authenticated"] is True and straight["session_jwt"]

        # With REQUIRED_FOR_ALL, set_mfa_enrollment is ignored, as on Stytch.
        api.put(f"/v1/b2b/organizations/{org_id}", json={"mfa_policy": "REQUIRED_FOR_ALL"})
        settle()
        wait_code = pyotp.TOTP(created["secret"])
        bad = api.post(
            "/v1/b2b/totp/authenticate",
            json={
                "organization_id": org_id,
                "member_id": member_id,
                "code": wait_code.now(),
                "session_token": token,
                "set_mfa_enrollment": "maybe",
            },
        )
        assert error_of(bad) == (400, "invalid_argument")


def test_enrolment_needs_the_existing_factor_and_deletion_needs_permission(server):
    with server.client() as api:
        clinic = new_clinic(server, api)
        org_id, admin_id, admin_token = (
            clinic["organization"]["organization_id"],
            clinic["member_id"],
            clinic["session_token"],
        )
        # A colleague joins by domain and gets a plain member session.
        auth = login(server, api, "nurse@clinic.com")
        nurse = post(
            api,
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {"intermediate_session_token": auth["intermediate_session_token"], "organization_id": org_id},
        )
        nurse_id, nurse_token = nurse["member_id"], nurse["session_token"]
        # Somebody else's session cannot enrol the nurse.
        foreign = api.post(
            "/v1/b2b/totp", json={"organization_id": org_id, "member_id": nurse_id, "session_token": admin_token}
        )
        assert error_of(foreign) == (404, "session_not_found")
        enrol(api, org_id, nurse_id, nurse_token)
        # The nurse's phone is verified (as an SMS code would do): enrolling again, after the
        # TOTP is gone, needs a login that proved a second factor.
        with database(server.database_url) as conn:
            conn.execute(
                sa.text(
                    "UPDATE members SET mfa_phone_number = '+14155550123', mfa_phone_number_verified = :t"
                    " WHERE member_id = :m"
                ),
                {"t": True, "m": nurse_id},
            )
        # Only someone allowed may delete it: a plain member may not touch a colleague's TOTP.
        totp_path = f"/v1/b2b/organizations/{org_id}/members/{nurse_id}/totp"
        other_auth = login(server, api, "clerk@clinic.com")
        clerk = post(
            api,
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {"intermediate_session_token": other_auth["intermediate_session_token"], "organization_id": org_id},
        )
        denied = api.delete(totp_path, headers={"X-Stytch-Member-Session": clerk["session_token"]})
        assert error_of(denied) == (403, "session_authorization_error")
        mine = api.delete(totp_path, headers={"X-Stytch-Member-Session": nurse_token})
        assert mine.status_code == 200
        assert mine.json()["member"]["totp_registration_id"] == ""
        assert mine.json()["member"]["default_mfa_method"] == "sms_otp"
        bare = api.post("/v1/b2b/totp", json={"organization_id": org_id, "member_id": nurse_id})
        assert error_of(bare) == (401, "insufficient_factors")
        # The nurse's session carries the TOTP factor from the enrolment: that proves enough.
        assert api.post(
            "/v1/b2b/totp", json={"organization_id": org_id, "member_id": nurse_id, "session_token": nurse_token}
        ).is_success
        assert admin_id != nurse_id
