"""Apply Alembic migrations; called by ``tenantry migrate`` and on server start."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from tenantry.db import statistics
from tenantry.db.urls import is_sqlite


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "tenantry:migrations")
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(engine: Engine) -> None:
    config = alembic_config(str(engine.url))
    with engine.connect() as conn:
        if not is_sqlite(str(engine.url)):
            # Migrations (an index over every member) and the wait for another worker's may
            # outlast a request's statement timeout.
            conn.exec_driver_sql("SET statement_timeout = 0")
            # Several workers may start at once; one migrates, the others wait for it.
            conn.exec_driver_sql("SELECT pg_advisory_lock(827364501)")
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if not is_sqlite(str(engine.url)):
                conn.exec_driver_sql("SELECT pg_advisory_unlock(827364501)")
                conn.exec_driver_sql("RESET statement_timeout")
                conn.commit()
    # Every start-up migrates: statistics describe the data the workers are about to query
    # (a database restored or bulk loaded since would otherwise be planned as if empty).
    statistics.refresh_now(engine)
