"""The one statement that spends a single-use token row (magic links, intermediate sessions)."""

from __future__ import annotations

import sqlalchemy as sa


def consume_statement(table: sa.Table) -> sa.Update:
    """Marks the live row whose ``token_digest`` is ``:p_token_digest`` consumed at ``:p_now``.

    Built once per table with bound parameters. The conditions are in the UPDATE itself, so of two
    concurrent spends exactly one sees ``rowcount == 1``: that one won; the other must refuse.
    """
    return (
        table.update()
        .where(
            table.c.token_digest == sa.bindparam("p_token_digest"),
            table.c.consumed_at.is_(None),
            table.c.expires_at > sa.bindparam("p_now", type_=table.c.expires_at.type),
        )
        .values(consumed_at=sa.bindparam("p_now", type_=table.c.consumed_at.type))
    )
