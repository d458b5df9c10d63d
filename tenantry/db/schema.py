"""Every table Tenantry keeps. Every tenant-owned table carries ``project_id`` and every query
filters on it, so one project's credentials can never reach another project's rows."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_digest", sa.String(64), nullable=False),
    # Exact-match allow-list; the first entry is the default for every link type.
    sa.Column("redirect_urls", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # The project's sender; NULL means TENANTRY_MAIL_FROM (name alone keeps that address).
    sa.Column("mail_from_name", sa.String(200), nullable=True),
    sa.Column("mail_from_address", sa.String(320), nullable=True),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.project_id"), nullable=False, index=True),
    sa.Column("private_key_pem", sa.Text, nullable=False),
    sa.Column("public_jwk", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # NULL while the key signs new JWTs; set when rotated out (still served until JWTs expire).
    sa.Column("retired_at", Timestamp, nullable=True),
)

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("organization_id", sa.String(80), primary_key=True),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("slug", sa.String(128), nullable=False),
    sa.Column("external_id", sa.String(128), nullable=True),
    sa.Column("logo_url", sa.Text, nullable=False, default=""),
    sa.Column("trusted_metadata", Json, nullable=False),
    # The auth settings object, exactly as the wire format names its fields.
    sa.Column("settings", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    # Per-organization RBAC roles, in the wire shape {role_id, description, permissions}.
    sa.Column("custom_roles", Json, nullable=False, default=list, server_default=sa.text("'[]'")),
    sa.UniqueConstraint("project_id", "slug"),
    sa.UniqueConstraint("project_id", "external_id"),
    # Keyset pagination of organization search; name and slug make it covering, so fuzzy
    # name/slug filters never touch the table rows (migration 0003).
    sa.Index("ix_organizations_project_id", "project_id", "organization_id", "name", "slug"),
)

# One row per allowed email domain, so "which organizations admit @clinic.com" is an index
# lookup rather than a scan of every organization's settings.
organization_domains = sa.Table(
    "organization_domains",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column(
        "organization_id",
        sa.String(80),
        sa.ForeignKey("organizations.organization_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.PrimaryKeyConstraint("organization_id", "domain"),
    sa.Index("ix_organization_domains_lookup", "project_id", "domain"),
)

# Claimed email domains, one row per domain (migration 0003): the search filter
# ``claimed_email_domains`` is an index lookup.
organization_claimed_domains = sa.Table(
    "organization_claimed_domains",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column(
        "organization_id",
        sa.String(80),
        sa.ForeignKey("organizations.organization_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.PrimaryKeyConstraint("organization_id", "domain"),
    sa.Index("ix_organization_claimed_domains_lookup", "project_id", "domain"),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("member_id", sa.String(80), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column(
        "organization_id",
        sa.String(80),
        sa.ForeignKey("organizations.organization_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("email_address", sa.String(320), nullable=False),
    sa.Column("email_domain", sa.String(255), nullable=False),
    sa.Column("email_id", sa.String(80), nullable=False),
    sa.Column("email_verified", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("name", sa.String(256), nullable=False, default=""),
    sa.Column("roles", Json, nullable=False),
    sa.Column("trusted_metadata", Json, nullable=False),
    sa.Column("untrusted_metadata", Json, nullable=False),
    sa.Column("is_breakglass", sa.Boolean, nullable=False, default=False),
    sa.Column("external_id", sa.String(128), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    # MFA (migration 0008). totp_registration_id names the member's active (verified) TOTP
    # registration, "" when none: kept here so every member serialisation has it without a join.
    sa.Column("mfa_enrolled", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("mfa_phone_number", sa.String(32), nullable=False, default="", server_default=""),
    sa.Column("mfa_phone_number_verified", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("default_mfa_method", sa.String(16), nullable=False, default="", server_default=""),
    sa.Column("totp_registration_id", sa.String(96), nullable=False, default="", server_default=""),
    sa.UniqueConstraint("organization_id", "email_address"),
    sa.Index("ix_members_project_email", "project_id", "email_address"),
    sa.Index("ix_members_org_domain", "organization_id", "email_domain"),
    # Member search pages by member_id within organizations of a project: project_id first, so
    # that no planner prefers ix_members_project_email, statistics or not (migration 0011).
    # External ids are unique per organization (migration 0003).
    sa.Index("ix_members_project_org_member", "project_id", "organization_id", "member_id"),
    sa.Index("uq_members_org_external_id", "organization_id", "external_id", unique=True),
)

magic_links = sa.Table(
    "magic_links",
    metadata,
    sa.Column("token_digest", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    # discovery | login | signup | invite
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("email_address", sa.String(320), nullable=False),
    sa.Column("organization_id", sa.String(80), nullable=True),
    sa.Column("member_id", sa.String(80), nullable=True),
    sa.Column("pkce_code_challenge", sa.String(128), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("consumed_at", Timestamp, nullable=True),
    # The redirect URL validated at send time; the Continue page forwards only there (0007).
    sa.Column("redirect_url", sa.Text, nullable=True),
)

# Test values an operator fixed for one address of a test project (migration 0007). Stored as
# given: the mail to that address must carry the very code or token the operator chose.
sandbox_pins = sa.Table(
    "sandbox_pins",
    metadata,
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    sa.Column("email_address", sa.String(320), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # email_otp | magic_link
    sa.Column("value", sa.String(128), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "email_address", "kind"),
    sa.Index(
        "uq_sandbox_pins_magic_link_value",
        "value",
        unique=True,
        sqlite_where=sa.text("kind = 'magic_link'"),
        postgresql_where=sa.text("kind = 'magic_link'"),
    ),
)

intermediate_sessions = sa.Table(
    "intermediate_sessions",
    metadata,
    sa.Column("token_digest", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("email_address", sa.String(320), nullable=False),
    # Set when an organization-scoped flow produced the IST (organization_id_hint).
    sa.Column("organization_id", sa.String(80), nullable=True),
    sa.Column("authentication_factors", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("consumed_at", Timestamp, nullable=True),
)

member_sessions = sa.Table(
    "member_sessions",
    metadata,
    sa.Column("member_session_id", sa.String(96), primary_key=True),
    sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column(
        "organization_id",
        sa.String(80),
        sa.ForeignKey("organizations.organization_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    sa.Column("authentication_factors", Json, nullable=False),
    sa.Column("custom_claims", Json, nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("last_accessed_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp, nullable=True),
    sa.Index("ix_member_sessions_member", "member_id"),
)

# -- MFA (migration 0008) ------------------------------------------------------------------------
# TOTP secrets and recovery codes are sealed with AES-GCM (tenantry/mfa/vault.py): unlike tokens
# they must be recoverable, the secret to compute codes and the codes because Stytch's GET
# recovery_codes returns them.

totp_registrations = sa.Table(
    "totp_registrations",
    metadata,
    sa.Column("totp_registration_id", sa.String(96), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("organization_id", sa.String(80), nullable=False),
    sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    sa.Column("secret_ciphertext", sa.Text, nullable=False),
    # False until the first code authenticates; an unverified registration expires.
    sa.Column("verified", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    # The 30-second time step of the last accepted code: a code is accepted once.
    sa.Column("last_used_step", sa.BigInteger, nullable=True),
    sa.Index("ix_totp_registrations_member", "member_id"),
)

recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    # Keyed digest (HMAC): redemption matches on it, never on plaintext.
    sa.Column("code_digest", sa.String(64), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("organization_id", sa.String(80), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("code_ciphertext", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("used_at", Timestamp, nullable=True),
    sa.PrimaryKeyConstraint("member_id", "code_digest"),
)

# Failed second-factor attempts per member and factor within a window (tenantry/mfa/attempts.py).
mfa_attempts = sa.Table(
    "mfa_attempts",
    metadata,
    sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    sa.Column("factor", sa.String(32), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_ends_at", Timestamp, nullable=False),
    sa.PrimaryKeyConstraint("member_id", "factor"),
)

# Random master keys generated by migrations; "mfa" is used when TENANTRY_MFA_KEY is not set.
server_keys = sa.Table(
    "server_keys",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("key_material", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    # Stable across retries, so a retried delivery is recognisably the same mail.
    sa.Column("message_id", sa.String(200), nullable=False, unique=True),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    # Bodies carry live links; they are erased once the message is delivered so that
    # tokens do not sit in the database longer than needed.
    sa.Column("text_body", sa.Text, nullable=True),
    sa.Column("html_body", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # queued | sent | dead
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("lease_until", Timestamp, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("sent_at", Timestamp, nullable=True),
    # The project's sender when the mail was queued, so retries keep it; each NULL part is
    # taken from TENANTRY_MAIL_FROM at delivery.
    sa.Column("from_name", sa.String(200), nullable=True),
    sa.Column("from_address", sa.String(320), nullable=True),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
)

# Email OTPs (migration 0005): one row per (project, email, scope), scope being "discovery" or an
# organization id, so a new send replaces the previous code (only the latest one is valid). The
# code is kept only as an HMAC; ``attempts`` is counted before any comparison.
email_otps = sa.Table(
    "email_otps",
    metadata,
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("email_address", sa.String(320), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False),
    # Fresh per issued code and mixed into its HMAC: equal codes never have equal digests.
    sa.Column("challenge_id", sa.String(32), nullable=False),
    sa.Column("code_digest", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),  # discovery | login | signup
    sa.Column("member_id", sa.String(80), nullable=True),
    # The magic link mailed together with this code: using either one retires the other.
    sa.Column("link_digest", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0, server_default=sa.text("0")),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("consumed_at", Timestamp, nullable=True),
    sa.PrimaryKeyConstraint("project_id", "email_address", "scope"),
    sa.Index("ix_email_otps_link_digest", "link_digest"),
)

# Per-project email OTP settings (migration 0005): the HMAC key of its codes, created on first
# use and shared by every worker through the database, and whether magic-link mails carry a code.
project_otp_settings = sa.Table(
    "project_otp_settings",
    metadata,
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("hmac_key", sa.String(64), nullable=False),
    sa.Column("code_in_magic_link_email", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
)

# Rate-limit counters of the send endpoints (migration 0006), one row per (scope, key): a fixed
# window that starts with the first request and holds until expires_at. The key is an HMAC of
# the project and the email, phone or address (tenantry.ratelimit.keys), never the value itself.
rate_limit_counters = sa.Table(
    "rate_limit_counters",
    metadata,
    sa.Column("scope", sa.String(16), nullable=False),  # email | phone | ip | project
    sa.Column("key_digest", sa.String(64), nullable=False),
    sa.Column("hits", sa.Integer, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.PrimaryKeyConstraint("scope", "key_digest"),
    sa.Index("ix_rate_limit_counters_expires_at", "expires_at"),
)

# One row: the HMAC key of the counter keys when TENANTRY_RATE_LIMIT_KEY is not set, generated by
# migration 0006 so that every process and machine on this database derives the same keys.
rate_limit_secret = sa.Table(
    "rate_limit_secret",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("secret", sa.String(64), nullable=False),
)

# SMS one-time passcodes (migration 0009): one live code per member, replaced by every send. The
# code is kept only as an HMAC over a fresh challenge id (tenantry.mfa.vault); attempts are
# counted by a conditional UPDATE before any comparison.
sms_otps = sa.Table(
    "sms_otps",
    metadata,
    sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("organization_id", sa.String(80), nullable=False),
    sa.Column("challenge_id", sa.String(32), nullable=False),
    sa.Column("code_digest", sa.String(64), nullable=False),
    # The number the code went to: authenticating the code proves control of this number.
    sa.Column("phone_number", sa.String(32), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0, server_default=sa.text("0")),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("consumed_at", Timestamp, nullable=True),
)

# The SMS outbox (migration 0009), delivered like the mail outbox. The body carries a live
# passcode, so it is stored AES-GCM sealed and erased once the text has left (or never will).
sms_outbox = sa.Table(
    "sms_outbox",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("to_number", sa.String(32), nullable=False),
    sa.Column("body_sealed", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # queued | sent | dead
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("lease_until", Timestamp, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("provider_message_id", sa.String(64), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("sent_at", Timestamp, nullable=True),
    sa.Index("ix_sms_outbox_due", "status", "next_attempt_at"),
)

# The clinic portal's delegation audit log (migration 0010, tenantry.portal.audit): append-only
# (UPDATE/DELETE triggers) and hash-chained; each row's hash covers its fields and prev_hash.
# ``portal_audit_head`` is the one-row chain head that appenders lock.
portal_audit_events = sa.Table(
    "portal_audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("organization_id", sa.String(128), nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("actor_member_id", sa.String(128), nullable=True),
    sa.Column("actor_email", sa.String(320), nullable=True),
    sa.Column("target_member_id", sa.String(128), nullable=True),
    sa.Column("target_email", sa.String(320), nullable=True),
    sa.Column("session_id", sa.String(128), nullable=True),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON, kept as the exact text hashed
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_portal_audit_events_org_seq", "organization_id", "seq"),
    sa.Index("ix_portal_audit_events_org_at", "organization_id", "at"),
)
portal_audit_head = sa.Table(
    "portal_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# CSV invitations (migration 0010, tenantry.portal.team): each upload and each row's outcome
# (NULL while pending), so any worker can carry a batch on and progress survives restarts.
portal_invite_batches = sa.Table(
    "portal_invite_batches",
    metadata,
    sa.Column("batch_id", sa.String(40), primary_key=True),
    sa.Column("organization_id", sa.String(128), nullable=False),
    sa.Column("actor_member_id", sa.String(128), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)
portal_invite_batch_rows = sa.Table(
    "portal_invite_batch_rows",
    metadata,
    sa.Column(
        "batch_id",
        sa.String(40),
        sa.ForeignKey("portal_invite_batches.batch_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(24), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    # A worker claims a row before calling Stytch; a claim that outlives its worker expires.
    sa.Column("claimed_until", Timestamp, nullable=True),
)
# One lease per clinic while a role change or removal runs (tenantry.portal.team.lock), so the
# last-owner check and the change it guards cannot interleave with another one.
portal_team_locks = sa.Table(
    "portal_team_locks",
    metadata,
    sa.Column("organization_id", sa.String(128), primary_key=True),
    sa.Column("holder", sa.String(32), nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
)
