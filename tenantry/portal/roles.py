"""Clinic roles and the delegation rules between them (the tutorial's third pitfall).

Stytch stores roles and checks permissions, but it has no notion of one role being *above*
another: a member allowed ``stytch.member:update.settings.roles`` may hand out any role,
``owner`` included. The portal therefore checks every delegation here, on the server, before it
calls Stytch, and these functions are the only place the hierarchy is written down.

The rules, in order of precedence:

* Team management (invite, resend, revoke, change a role, remove) belongs to the roles with
  ``manages_team``: ``owner`` and ``admin``. Clinical and office staff see the team list only.
* Nobody grants a role above their own. **Equal is allowed**: an owner may make a co-owner (so
  ownership can be handed over), an admin may invite or promote to admin, never to owner.
* Acting on an existing member (change their role, remove them, resend or revoke their
  invitation) needs a rank at least equal to the target's highest clinic role, so an admin
  may act on admins and below but never on an owner.
* The last owner of a clinic can be neither removed nor demoted, by anyone, themselves included:
  a clinic without an owner could never again appoint one.

Roles outside the clinic set (Stytch's ``stytch_member``/``stytch_admin``, roles added through
the API) rank 0: they never make anyone senior in the portal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ClinicRole:
    role_id: str
    label: str
    description: str
    rank: int
    manages_team: bool
    # Stytch RBAC permissions (resource_id -> actions), so a call made with the member's own
    # session is also limited by Stytch; the hierarchy above it is ours alone.
    permissions: tuple[tuple[str, tuple[str, ...]], ...]

    def as_policy_role(self) -> dict[str, Any]:
        """The role in Stytch's ``org_policy.roles[]`` shape (``rbac.organizations.set_org_policy``)."""
        return {
            "role_id": self.role_id,
            "description": self.description,
            "permissions": [{"resource_id": r, "actions": list(a)} for r, a in self.permissions],
        }


_DIRECTORY = (("stytch.member", ("search",)),)
_TEAM = (("stytch.member", ("*",)),)
_CLINIC_SETTINGS = (
    (
        "stytch.organization",
        (
            "update.info.name",
            "update.info.logo-url",
            "update.settings.allowed-domains",
            "update.settings.email-invites",
            "update.settings.email-jit-provisioning",
            "update.settings.mfa-policy",
        ),
    ),
)

CLINIC_ROLES: tuple[ClinicRole, ...] = (
    ClinicRole(
        "owner",
        "Owner",
        "Clinic owner: everything an admin may do, plus appointing owners and deleting the clinic.",
        100,
        True,
        (("stytch.organization", ("*",)), *_TEAM, ("stytch.custom-org-roles", ("*",))),
    ),
    ClinicRole(
        "admin",
        "Admin",
        "Clinic administrator: manages staff (invite, change roles up to admin, remove) and clinic settings.",
        80,
        True,
        (*_CLINIC_SETTINGS, *_TEAM),
    ),
    ClinicRole("physician", "Physician", "Physician: clinical staff; sees the team directory.", 60, False, _DIRECTORY),
    ClinicRole("nurse", "Nurse", "Nurse: clinical staff; sees the team directory.", 40, False, _DIRECTORY),
    ClinicRole(
        "front_desk",
        "Front desk",
        "Front desk: scheduling and reception; sees the team directory.",
        20,
        False,
        _DIRECTORY,
    ),
    ClinicRole("billing", "Billing", "Billing: claims and payments; sees the team directory.", 20, False, _DIRECTORY),
)

OWNER = "owner"
ROLES_BY_ID: dict[str, ClinicRole] = {r.role_id: r for r in CLINIC_ROLES}
ROLE_IDS: tuple[str, ...] = tuple(ROLES_BY_ID)


def org_policy() -> dict[str, Any]:
    """The organization policy that defines the clinic roles (``set_org_policy_async(org_policy=...)``)."""
    return {"roles": [r.as_policy_role() for r in CLINIC_ROLES]}


def rank(role_id: str) -> int:
    """A role's rank; 0 for anything that is not a clinic role."""
    role = ROLES_BY_ID.get(role_id)
    return role.rank if role else 0


def clinic_roles(roles: Iterable[str]) -> list[str]:
    """The clinic roles among ``roles`` (Stytch's member ``roles`` may hold others too)."""
    return [r for r in roles if r in ROLES_BY_ID]


def highest(roles: Iterable[str]) -> str | None:
    """The member's most senior clinic role, or None when they hold none.

    Ties (``front_desk`` and ``billing`` share a rank) go to the role listed first in
    ``CLINIC_ROLES`` so the answer does not depend on the order Stytch returns roles in.
    """
    held = set(roles)
    for role in CLINIC_ROLES:
        if role.role_id in held:
            return role.role_id
    return None


def top_rank(roles: Iterable[str]) -> int:
    top = highest(roles)
    return rank(top) if top else 0


def manages_team(roles: Iterable[str]) -> bool:
    return any(ROLES_BY_ID[r].manages_team for r in clinic_roles(roles))


def may_grant(actor_roles: Iterable[str], role: str) -> bool:
    """Whether a member holding ``actor_roles`` may invite someone as, or promote someone to, ``role``."""
    actor_roles = list(actor_roles)
    return role in ROLES_BY_ID and manages_team(actor_roles) and rank(role) <= top_rank(actor_roles)


def may_act_on(actor_roles: Iterable[str], target_roles: Iterable[str]) -> bool:
    """Whether the actor may manage this member at all (resend/revoke their invite, change, remove)."""
    actor_roles = list(actor_roles)
    return manages_team(actor_roles) and top_rank(target_roles) <= top_rank(actor_roles)


def owner_count(members_roles: Iterable[Sequence[str]]) -> int:
    """How many of the given members (each given as its roles) are owners."""
    return sum(1 for roles in members_roles if OWNER in roles)


def is_last_owner(target_roles: Iterable[str], active_owner_count: int) -> bool:
    """Whether taking ``owner`` away from this member would leave the clinic without one.

    ``active_owner_count`` counts active members only: an owner still sitting in an unaccepted
    invitation cannot run the clinic, so they do not make anyone else's removal safe.
    """
    return OWNER in target_roles and active_owner_count <= 1


def refusal_to_change(
    actor_roles: Iterable[str], target_roles: Iterable[str], new_role: str, *, active_owner_count: int
) -> str | None:
    """Why the actor may not give the target ``new_role`` instead of their clinic roles (None: allowed)."""
    actor_roles, target_roles = list(actor_roles), list(target_roles)
    if new_role not in ROLES_BY_ID:
        return f"{new_role!r} is not a clinic role."
    if not manages_team(actor_roles):
        return "Only owners and admins manage the team."
    if not may_act_on(actor_roles, target_roles):
        return "You cannot change the role of someone more senior than you."
    if not may_grant(actor_roles, new_role):
        return "You cannot grant a role above your own."
    if new_role != OWNER and is_last_owner(target_roles, active_owner_count):
        return "The clinic's last owner cannot be demoted; make someone else an owner first."
    return None


def refusal_to_remove(
    actor_roles: Iterable[str], target_roles: Iterable[str], *, active_owner_count: int
) -> str | None:
    """Why the actor may not remove the target (None: allowed)."""
    actor_roles, target_roles = list(actor_roles), list(target_roles)
    if not manages_team(actor_roles):
        return "Only owners and admins manage the team."
    if not may_act_on(actor_roles, target_roles):
        return "You cannot remove someone more senior than you."
    if is_last_owner(target_roles, active_owner_count):
        return "The clinic's last owner cannot be removed; make someone else an owner first."
    return None


def refusal_to_invite(actor_roles: Iterable[str], role: str) -> str | None:
    """Why the actor may not invite someone as ``role`` (None: allowed)."""
    actor_roles = list(actor_roles)
    if role not in ROLES_BY_ID:
        return f"{role!r} is not a clinic role."
    if not manages_team(actor_roles):
        return "Only owners and admins may invite staff."
    if not may_grant(actor_roles, role):
        return "You cannot invite someone to a role above your own."
    return None


def roles_after_change(current_roles: Iterable[str], new_role: str) -> list[str]:
    """The member's explicit roles once their clinic role becomes ``new_role``.

    The clinic role is the member's one source of privilege, so the old clinic role goes, and so
    does ``stytch_admin`` (which Stytch gives a clinic's creator and which would otherwise keep
    full privileges after a demotion); ``stytch_member`` is implicit and never sent. Other roles
    (granted outside the portal) are kept.
    """
    dropped = {*ROLES_BY_ID, "stytch_admin", "stytch_member"}
    return [new_role, *(r for r in current_roles if r not in dropped)]
