"""JSON columns read back from SQLite (``tenantry.json_codec.loads_stored``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tenantry.db.engine import create_engine


def test_json_columns_come_back_equal_and_as_fresh_objects(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'json.db'}")
    table = sa.Table("docs", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("doc", sa.JSON))
    values = [
        {},
        [],
        {"a": [1, {"b": None}]},
        [2**70, "é"],
        "{}",
        0.5,
        None,
        # Integers at and beyond 64 bits stay exact; floats and -0.0 keep their value.
        {"n": -(2**63) - 1, "m": 2**64 - 1, "k": 2**63, "id": "1234567890123456789012"},
        {"f": [0.1, -0.0, 1e300, 123456789.123456789], "s": "\u2028 \x00"},
    ]
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(table.insert(), [{"id": i, "doc": v} for i, v in enumerate(values)])
    with engine.connect() as conn:
        first = [row.doc for row in conn.execute(sa.select(table.c.doc).order_by(table.c.id))]
        second = [row.doc for row in conn.execute(sa.select(table.c.doc).order_by(table.c.id))]
    engine.dispose()
    assert first == values
    # Callers may change what they read; an empty {} or [] must not be one shared object.
    first[0]["changed"] = True
    first[1].append(1)
    assert second[0] == {} and second[1] == []
    assert first[0] is not second[0] and first[1] is not second[1]
