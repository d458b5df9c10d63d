"""Search query building, without a server: filters become indexed SQL, bad queries are refused
with Stytch's error types."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tenantry.db.schema import metadata
from tenantry.members.search import condition as member_condition
from tenantry.organizations.search import condition
from tenantry.search import SearchError, decode_cursor, encode_cursor, parse_query


def q(operator: str, *operands: tuple[str, object]) -> dict:
    return {"operator": operator, "operands": [{"filter_name": n, "filter_value": v} for n, v in operands]}


def plan(where) -> str:
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    query = sa.select(sa.text("1")).select_from(metadata.tables["organizations"]).where(where)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        return " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))


def test_exact_filters_are_index_lookups_and_always_project_scoped():
    for filter_name, value in (
        ("organization_slugs", ["a-slug"]),
        ("member_emails", ["a@b.com"]),
        ("allowed_domains", ["b.com"]),
        ("claimed_email_domains", ["b.com"]),
        ("organization_ids", ["organization-test-1"]),
    ):
        where = condition(
            "project-test-1", parse_query(q("AND", (filter_name, value)), error_prefix="organization_search")
        )
        sql = str(where.compile(compile_kwargs={"literal_binds": True}))
        assert "organizations.project_id = 'project-test-1'" in sql
        assert "SCAN organizations" not in plan(where), (filter_name, plan(where))


def test_operators_combine_operands_and_fuzzy_is_case_insensitive():
    where = condition(
        "p",
        parse_query(
            q("or", ("organization_name_fuzzy", "ACME"), ("organization_slugs", ["x"])),
            error_prefix="organization_search",
        ),
    )
    sql = str(where.compile(compile_kwargs={"literal_binds": True}))
    assert " OR " in sql and "lower(organizations.name) LIKE '%' || 'acme' || '%'" in sql


@pytest.mark.parametrize(
    ("query", "error_type"),
    [
        (q("AND", ("favourite_colour", "red")), "organization_search_filter_name_not_recognized"),
        (q("AND", ("organization_slug_fuzzy", "ab")), "organization_search_organization_slug_fuzzy_too_short"),
        (q("AND", ("organization_slugs", "not-a-list")), "organization_search_expected_array_of_strings"),
        ({"operator": "AND", "operands": [{"filter_value": ["x"]}]}, "organization_search_missing_filter_name"),
    ],
)
def test_bad_organization_queries_use_stytch_error_types(query, error_type):
    with pytest.raises(SearchError) as exc:
        condition("p", parse_query(query, error_prefix="organization_search"))
    assert exc.value.error_type == error_type


def test_member_search_hides_deleted_members_unless_statuses_asks():
    plain = str(member_condition("p", ["o"], parse_query(None, error_prefix="member_search")).compile())
    assert "members.status !=" in plain
    asked = member_condition("p", ["o"], parse_query(q("AND", ("statuses", ["deleted"])), error_prefix="member_search"))
    assert "members.status !=" not in str(asked.compile())


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor("organization-test-9")) == "organization-test-9"
    assert decode_cursor(None) is None
