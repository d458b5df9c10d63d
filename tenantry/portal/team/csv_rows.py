"""Reading a CSV of people to invite (``email,name,role``) and judging each row before any call.

Rows that can be refused without asking Stytch are refused here, with the reason shown in the
per-row result: a malformed address, a second row for the same address, someone already in the
clinic, a role that is not a clinic role, a role above the inviter's own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from tenantry.portal import roles as clinic

MAX_ROWS = 500
MAX_BYTES = 256 * 1024
COLUMNS = ("email", "name", "role")

# Row outcomes (NULL in the database while a row waits for its call to Stytch).
INVITED = "invited"
DUPLICATE = "duplicate"
BAD_EMAIL = "invalid_email"
BAD_ROLE = "invalid_role"
REFUSED = "refused"
FAILED = "failed"
OUTCOME_LABELS = {
    INVITED: "Invited",
    DUPLICATE: "Duplicate",
    BAD_EMAIL: "Invalid email",
    BAD_ROLE: "Unknown role",
    REFUSED: "Not allowed",
    FAILED: "Failed",
    None: "Waiting",
}


class CsvProblem(ValueError):
    """The file as a whole cannot be used (shown above the form)."""


@dataclass(frozen=True)
class CsvRow:
    line: int
    email: str
    name: str
    role: str
    outcome: str | None = None  # None: to be invited
    message: str | None = None


def normalise_email(raw: str) -> str | None:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def parse(data: bytes, *, actor_roles: Iterable[str], existing_emails: Iterable[str]) -> list[CsvRow]:
    if len(data) > MAX_BYTES:
        raise CsvProblem(f"The file is larger than {MAX_BYTES // 1024} KB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvProblem("The file is not UTF-8 text; save it as 'CSV UTF-8' and try again.") from None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if tuple(header[:3]) != COLUMNS:
        raise CsvProblem("The first line must be the column names: email,name,role")
    actor_roles = list(actor_roles)
    taken = {e.lower() for e in existing_emails}
    seen: set[str] = set()
    rows: list[CsvRow] = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise CsvProblem(f"At most {MAX_ROWS} people per file.")
        line = reader.line_num
        raw_email, name, role = ([*values, "", "", ""])[:3]
        name, role = name.strip()[:200], role.strip().lower()
        email = normalise_email(raw_email)
        shown = (email or raw_email.strip())[:320]
        if email is None:
            rows.append(CsvRow(line, shown, name, role, BAD_EMAIL, "This is not a valid email address."))
        elif email in seen:
            rows.append(CsvRow(line, shown, name, role, DUPLICATE, "This address appears earlier in the file."))
        elif email in taken:
            rows.append(CsvRow(line, shown, name, role, DUPLICATE, "Already a member of this clinic or invited."))
        elif role not in clinic.ROLES_BY_ID:
            rows.append(CsvRow(line, shown, name, role[:64], BAD_ROLE, f"{role[:64]!r} is not a clinic role."))
        else:
            refusal = clinic.refusal_to_invite(actor_roles, role)
            rows.append(CsvRow(line, shown, name, role, REFUSED if refusal else None, refusal))
        if email:
            seen.add(email)
    if not rows:
        raise CsvProblem("The file has no rows below the column names.")
    return rows
