"""Recovery codes: ten single-use codes that stand in for the member's authenticator app.

They are issued with a TOTP enrolment and replaced on rotation. Stytch returns the unused codes
on ``GET /v1/b2b/recovery_codes/...``, so each is kept sealed for that and as a keyed digest for
redemption, which matches on the digest and spends the code with a conditional update.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock, rfc3339
from tenantry.members.models import Member
from tenantry.mfa import attempts, context
from tenantry.mfa import store as mfa_store
from tenantry.mfa.complete import (
    Completion,
    check_member_may_use_mfa,
    complete_with_second_factor,
    second_factor,
    validate_options,
)
from tenantry.mfa.vault import Vault
from tenantry.organizations.models import Organization

CODE_COUNT = 10
ALPHABET = string.ascii_lowercase + string.digits
CODE_RE = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$")
METHOD = "totp"  # the MFA method recovery codes back


def new_code() -> str:
    """``xxxx-xxxx-xxxx`` over [a-z0-9], Stytch's shape: 62 bits of randomness."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def _seal_context(member_id: str) -> str:
    return f"recovery-code:{member_id}"


def issue(conn: Connection, vault: Vault, *, member: Member, when: datetime) -> list[str]:
    """A fresh set of codes for the member; earlier codes stop working."""
    codes = [new_code() for _ in range(CODE_COUNT)]
    context_ = _seal_context(member.member_id)
    mfa_store.replace_codes(
        conn,
        project_id=member.project_id,
        organization_id=member.organization_id,
        member_id=member.member_id,
        codes=[
            mfa_store.SealedCode(vault.digest(code, context=context_), vault.seal(code, context=context_))
            for code in codes
        ],
        when=when,
    )
    return codes


@dataclass(frozen=True)
class Codes:
    member: Member
    organization: Organization
    recovery_codes: list[str]


def _backed_member(conn: Connection, project_id: str, organization_reference: str, member_reference: str) -> Codes:
    org, member = context.target(conn, project_id, organization_reference, member_reference)
    if not member.totp_registration_id:
        raise errors.NoActiveRecoveryCodeBackedFactor()
    return Codes(member, org, [])


def get(
    conn: Connection, vault: Vault, *, project_id: str, organization_reference: str, member_reference: str
) -> Codes:
    found = _backed_member(conn, project_id, organization_reference, member_reference)
    sealed = mfa_store.unused_codes(conn, found.member.member_id)
    if not sealed:
        raise errors.RecoveryCodesNotFound()
    context_ = _seal_context(found.member.member_id)
    return Codes(found.member, found.organization, [vault.open(s, context=context_) for s in sealed])


def rotate(
    conn: Connection,
    clock: Clock,
    vault: Vault,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
) -> Codes:
    found = _backed_member(conn, project_id, organization_reference, member_reference)
    codes = issue(conn, vault, member=found.member, when=clock.now())
    return Codes(found.member, found.organization, codes)


def count_attempt(conn: Connection, clock: Clock, *, project_id: str, body: Any) -> None:
    """The route's ``prepare`` step: spend one recovery attempt before comparing."""
    found = context.find_member(conn, project_id, body.organization_id, body.member_id)
    if found is not None:
        attempts.count_attempt(conn, clock, member_id=found[1].member_id, factor=attempts.RECOVERY_CODES)


@dataclass(frozen=True)
class Recovery:
    completion: Completion
    recovery_codes_remaining: int


def recover(
    conn: Connection,
    clock: Clock,
    vault: Vault,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    recovery_code: str,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
) -> Recovery:
    org, member = context.target(conn, project_id, organization_reference, member_reference)
    check_member_may_use_mfa(member)
    context.require_method(org, METHOD)
    validate_options(session_duration_minutes=session_duration_minutes, session_custom_claims=session_custom_claims)
    code = recovery_code.strip().lower()
    if not CODE_RE.fullmatch(code):
        raise errors.InvalidRecoveryCode()
    if not member.totp_registration_id:
        raise errors.NoActiveRecoveryCodeBackedFactor()
    now = clock.now()
    digests = vault.digests(code, context=_seal_context(member.member_id))
    if not mfa_store.redeem(conn, member.member_id, digests, now):
        raise errors.UnableToAuthenticateRecoveryCode()
    factor = second_factor(
        "recovery_codes",
        "recovery_code",
        rfc3339(now) or "",
        recovery_code_factor={"totp_recovery_code_id": member.totp_registration_id},
    )
    completion = complete_with_second_factor(
        conn,
        clock,
        organization=org,
        member=member,
        factor=factor,
        method=None,
        intermediate_session_token=intermediate_session_token,
        session_token=session_token,
        session_jwt=session_jwt,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
    )
    attempts.reset(conn, member_id=member.member_id, factor=attempts.RECOVERY_CODES)
    return Recovery(completion, mfa_store.count_unused(conn, member.member_id))
