"""Attempt limits under concurrency (security.md OTS-7): 50 wrong SMS codes fired at once, on
SQLite and PostgreSQL, compare at most 5 times; the code is then dead, the right one included.

The count is a conditional UPDATE committed before the comparison, so parallel guesses cannot
each read "attempts < 5" and all go on to compare (the Zitadel/Kratos class of bug).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from sms.helpers import clinic_requiring_mfa, latest_code, login_stopped_at_mfa

PHONE = "+12015550142"
GUESSES = 50


def attempts_in_database(url: str, member_id: str) -> int:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT attempts FROM sms_otps WHERE member_id = :m"), {"m": member_id}
            ).scalar_one()
    finally:
        engine.dispose()


def test_fifty_concurrent_wrong_codes_lock_the_code_after_five(server, stytch_client):
    client = stytch_client
    org_id, _admin = clinic_requiring_mfa(server, client)
    stopped = login_stopped_at_mfa(server, client, "nurse@clinic.com", org_id)
    member_id, ist = stopped.member.member_id, stopped.intermediate_session_token
    client.otps.sms.send(
        organization_id=org_id, member_id=member_id, mfa_phone_number=PHONE, intermediate_session_token=ist
    )
    code = latest_code(server, PHONE)
    wrong = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, GUESSES + 1)]

    barrier = threading.Barrier(GUESSES)

    def guess(value: str) -> tuple[int, str]:
        with server.client() as http:
            barrier.wait(timeout=30)
            resp = http.post(
                "/v1/b2b/otps/sms/authenticate",
                json={
                    "organization_id": org_id,
                    "member_id": member_id,
                    "code": value,
                    "intermediate_session_token": ist,
                },
            )
        return resp.status_code, resp.json().get("error_type", "")

    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        outcomes = Counter(pool.map(guess, wrong))

    # Exactly five guesses were compared (and were wrong); every other one met a dead code.
    assert outcomes == Counter({(404, "otp_code_not_found"): 5, (401, "unable_to_auth_otp_code"): GUESSES - 5}), (
        outcomes
    )
    assert attempts_in_database(server.database_url, member_id) == 5

    with server.client() as http:
        right = http.post(
            "/v1/b2b/otps/sms/authenticate",
            json={"organization_id": org_id, "member_id": member_id, "code": code, "intermediate_session_token": ist},
        )
    assert (right.status_code, right.json()["error_type"]) == (401, "unable_to_auth_otp_code")
