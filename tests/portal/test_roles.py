"""The clinic role hierarchy as plain functions: who may grant, change and remove what."""

from __future__ import annotations

import pytest

from tenantry.portal import roles
from tenantry.rbac.org_roles import validate_org_roles

MANAGERS = ("owner", "admin")
STAFF = ("physician", "nurse", "front_desk", "billing")


def test_the_six_clinic_roles_exist_in_rank_order():
    assert roles.ROLE_IDS == ("owner", "admin", "physician", "nurse", "front_desk", "billing")
    ranks = [roles.rank(r) for r in roles.ROLE_IDS]
    assert ranks == sorted(ranks, reverse=True)
    assert roles.rank("stytch_admin") == 0 and roles.rank("made_up") == 0


def test_the_org_policy_is_one_tenantry_and_stytch_accept():
    # Tenantry's own validator for PUT /v1/b2b/rbac/organizations/{id} checks every stytch.* action name.
    policy = roles.org_policy()
    assert validate_org_roles(policy["roles"]) == policy["roles"]
    assert {r["role_id"] for r in policy["roles"]} == set(roles.ROLE_IDS)
    assert all(r["description"] for r in policy["roles"])


def test_highest_ignores_order_and_foreign_roles():
    assert roles.highest(["stytch_member", "nurse", "admin"]) == "admin"
    assert roles.highest(["billing", "front_desk"]) == "front_desk"
    assert roles.highest(["front_desk", "billing"]) == "front_desk"
    assert roles.highest(["stytch_member", "stytch_admin"]) is None
    assert roles.highest([]) is None


@pytest.mark.parametrize("role", roles.ROLE_IDS)
def test_staff_grant_nothing(role):
    for staff in STAFF:
        assert not roles.may_grant([staff], role)
        assert roles.refusal_to_invite([staff], role) is not None


def test_a_nurse_cannot_invite_an_admin():
    assert not roles.may_grant(["stytch_member", "nurse"], "admin")
    assert roles.refusal_to_invite(["nurse"], "admin") == "Only owners and admins may invite staff."


def test_admins_grant_up_to_their_own_rank_equal_included():
    for role in ("admin", *STAFF):
        assert roles.may_grant(["admin"], role)
    assert not roles.may_grant(["admin"], "owner")
    assert roles.refusal_to_invite(["admin"], "owner") == "You cannot invite someone to a role above your own."


def test_owners_grant_everything_including_co_owners():
    assert all(roles.may_grant(["owner"], r) for r in roles.ROLE_IDS)


def test_unknown_roles_are_never_granted():
    assert not roles.may_grant(["owner"], "stytch_admin")
    assert roles.refusal_to_invite(["owner"], "superuser") == "'superuser' is not a clinic role."


def test_stytch_admin_alone_confers_no_clinic_seniority():
    assert not roles.manages_team(["stytch_admin"])
    assert not roles.may_grant(["stytch_admin"], "billing")


def test_acting_on_members_needs_at_least_their_rank():
    assert roles.may_act_on(["admin"], ["admin"])
    assert roles.may_act_on(["admin"], ["nurse", "billing"])
    assert not roles.may_act_on(["admin"], ["owner"])
    assert not roles.may_act_on(["admin"], ["nurse", "owner"])
    assert not roles.may_act_on(["physician"], ["nurse"])


def test_change_rules():
    assert roles.refusal_to_change(["admin"], ["nurse"], "physician", active_owner_count=1) is None
    assert roles.refusal_to_change(["admin"], ["nurse"], "admin", active_owner_count=1) is None
    assert roles.refusal_to_change(["admin"], ["nurse"], "owner", active_owner_count=1) == (
        "You cannot grant a role above your own."
    )
    assert roles.refusal_to_change(["admin"], ["owner"], "nurse", active_owner_count=3) == (
        "You cannot change the role of someone more senior than you."
    )
    assert roles.refusal_to_change(["nurse"], ["billing"], "front_desk", active_owner_count=1) == (
        "Only owners and admins manage the team."
    )
    assert (
        roles.refusal_to_change(["owner"], ["nurse"], "chief", active_owner_count=1) == "'chief' is not a clinic role."
    )


def test_the_last_owner_cannot_be_demoted_even_by_themselves():
    refusal = roles.refusal_to_change(["owner"], ["owner"], "admin", active_owner_count=1)
    assert refusal == "The clinic's last owner cannot be demoted; make someone else an owner first."
    # With a second owner it is fine, and keeping the owner role is never a demotion.
    assert roles.refusal_to_change(["owner"], ["owner"], "admin", active_owner_count=2) is None
    assert roles.refusal_to_change(["owner"], ["owner"], "owner", active_owner_count=1) is None


def test_the_last_owner_cannot_be_removed():
    assert roles.refusal_to_remove(["owner"], ["owner"], active_owner_count=1) == (
        "The clinic's last owner cannot be removed; make someone else an owner first."
    )
    assert roles.refusal_to_remove(["owner"], ["owner"], active_owner_count=2) is None
    assert roles.refusal_to_remove(["admin"], ["owner"], active_owner_count=2) == (
        "You cannot remove someone more senior than you."
    )
    assert roles.refusal_to_remove(["admin"], ["admin"], active_owner_count=1) is None
    assert roles.refusal_to_remove(["nurse"], ["billing"], active_owner_count=1) == (
        "Only owners and admins manage the team."
    )


def test_owner_count():
    assert roles.owner_count([["owner"], ["admin", "owner"], ["nurse"]]) == 2


def test_roles_after_change_replace_the_clinic_role_and_drop_stytch_admin():
    assert roles.roles_after_change(["stytch_member", "stytch_admin", "owner", "research"], "admin") == [
        "admin",
        "research",
    ]
    assert roles.roles_after_change([], "nurse") == ["nurse"]


def test_exhaustive_grant_matches_the_written_rule():
    # The reference oracle, written from the module docstring rather than from the code.
    order = {"owner": 5, "admin": 4, "physician": 3, "nurse": 2, "front_desk": 1, "billing": 1}
    for actor in roles.ROLE_IDS:
        for role in roles.ROLE_IDS:
            expected = actor in MANAGERS and order[role] <= order[actor]
            assert roles.may_grant([actor], role) is expected, (actor, role)
