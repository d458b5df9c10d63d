"""SQLite writers of different processes queue on ``<database>-writer.lock`` (tenantry.db.writer_queue)
instead of sleeping in SQLite's busy handler.

Real SQLite files and real child processes running Tenantry's ``write_transaction``; the only
thing done by hand is holding the lock file from outside, as another worker would. Timings are
never a pass/fail threshold except as generous bounds; what is asserted is who waits for whom.
Without the file lock, the tests that hold it from outside fail: the writer goes straight in.
"""

from __future__ import annotations

import fcntl
import gc
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tenantry.db.engine import _sqlite_engine, create_engine, write_transaction
from tenantry.db.outage import is_unavailable
from tenantry.db.writer_queue import WriterQueue, lock_path

REPO = Path(__file__).resolve().parents[2]

# A child process: write_transaction on the database in argv[1], as one worker of two.
CHILD = """
import sys, threading, time
import sqlalchemy as sa
from tenantry.db.engine import create_engine, write_transaction

database, mode, writer = sys.argv[1], sys.argv[2], sys.argv[3]
engine = create_engine("sqlite:///" + database)
if mode == "loop":  # threads x transactions, as fast as they go
    threads, per_thread = int(sys.argv[4]), int(sys.argv[5])
    failures = []

    def write(t):
        try:
            for i in range(per_thread):
                with write_transaction(engine) as conn:
                    conn.exec_driver_sql("INSERT INTO log (writer, n) VALUES (?, ?)", (writer, t * per_thread + i))
        except Exception as exc:
            failures.append(repr(exc))

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print("failures", len(failures), failures[:3], flush=True)
else:  # hold one write transaction until told to commit
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("INSERT INTO log (writer, n, at) VALUES (?, 0, ?)", (writer, time.time()))
        print("holding", flush=True)
        sys.stdin.readline()
        conn.exec_driver_sql("UPDATE log SET at = ? WHERE writer = ?", (time.time(), writer))
    print("committed", flush=True)
"""

# A child process that holds only the lock file, no database: another worker's queue.
LOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("holding", flush=True)
sys.stdin.readline()
released = time.time()
fcntl.flock(fd, fcntl.LOCK_UN)
print(released, flush=True)
"""


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "queue.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE log (writer TEXT NOT NULL, n INTEGER NOT NULL, at REAL)")
    conn.close()
    yield path


def child(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def held_elsewhere(database: str) -> bool:
    """Whether some writer holds the database's lock file (tried from a descriptor of our own)."""
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases it if we got it
    return False


def write_in_thread(engine: sa.Engine, writer: str) -> tuple[threading.Thread, threading.Event, list[float]]:
    entered = threading.Event()
    at: list[float] = []

    def write() -> None:
        with write_transaction(engine) as conn:
            at.append(time.time())
            entered.set()
            conn.exec_driver_sql("INSERT INTO log (writer, n, at) VALUES (?, 0, ?)", (writer, at[0]))

    thread = threading.Thread(target=write)
    thread.start()
    return thread, entered, at


def test_writers_of_two_processes_all_commit(database: str) -> None:
    """Two processes of four threads each write 150 transactions apiece into one file: every row
    arrives and none fails (waits handed over between processes, threads and the waiter thread)."""
    threads, per_thread = 4, 150
    children = [child(CHILD, database, "loop", name, str(threads), str(per_thread)) for name in ("a", "b")]
    outputs = [c.communicate(timeout=120)[0] for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    assert all(out.startswith("failures 0 ") for out in outputs), outputs
    conn = sqlite3.connect(database)
    counts = dict(conn.execute("SELECT writer, count(DISTINCT n) FROM log GROUP BY writer").fetchall())
    conn.close()
    assert counts == {"a": threads * per_thread, "b": threads * per_thread}
    assert not held_elsewhere(database)


def test_a_write_transaction_in_one_process_holds_back_writers_of_another(database: str) -> None:
    holder = child(CHILD, database, "hold", "child")
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "holding"
        assert held_elsewhere(database)  # the child's write_transaction holds the lock file

        thread, entered, at = write_in_thread(engine, "parent")
        assert not entered.wait(0.3)  # queued behind the child's open transaction
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "committed"
        assert entered.wait(10)
        thread.join(10)
        assert holder.wait(10) == 0
    finally:
        holder.kill()
        engine.dispose()

    conn = sqlite3.connect(database)
    rows = conn.execute("SELECT writer, at FROM log ORDER BY rowid").fetchall()
    conn.close()
    assert [writer for writer, _ in rows] == ["child", "parent"]
    child_commit_started, parent_entered = rows[0][1], at[0]
    assert child_commit_started <= parent_entered < child_commit_started + 5
    assert not held_elsewhere(database)


def test_a_writer_waits_for_the_lock_file_not_only_for_sqlite(database: str) -> None:
    """Another process holds only the lock file (SQLite's own lock is free): a writer still waits
    for it, and goes in once it is released, woken by the kernel rather than by a timer."""
    holder = child(LOCK_HOLDER, lock_path(database))
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "holding"
        thread, entered, at = write_in_thread(engine, "parent")
        assert not entered.wait(0.5)  # without the file lock it would have gone straight in
        holder.stdin.write("\n")
        holder.stdin.flush()
        released = float(holder.stdout.readline())
        assert entered.wait(10)
        thread.join(10)
        assert released <= at[0] < released + 5
        assert holder.wait(10) == 0
    finally:
        holder.kill()
        engine.dispose()


def test_giving_up_on_the_lock_file_fails_as_sqlite_busy_does(database: str) -> None:
    """A writer that cannot get the lock file within the busy timeout raises what SQLite raises
    when its own busy timeout runs out (the API's 503), and a later writer is not held up by
    the give-up: the lock it was waiting for is let go as soon as it arrives."""
    engine = _sqlite_engine(f"sqlite:///{database}", busy_timeout_ms=200)
    try:
        # SQLite's own error: its write lock held by a plain connection, the lock file free.
        sqlite_holder = sqlite3.connect(database, isolation_level=None)
        sqlite_holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sa.exc.OperationalError) as from_sqlite:
            with write_transaction(engine):
                pass
        sqlite_holder.execute("ROLLBACK")
        sqlite_holder.close()

        # Ours: the lock file held by another descriptor (as another process would).
        fd = os.open(lock_path(database), os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError) as from_queue:
            with write_transaction(engine):
                pass
        assert time.monotonic() - started >= 0.2
        fcntl.flock(fd, fcntl.LOCK_UN)
        # The engine's waiter gets the lock it asked for after its caller gave up, and lets go
        # (given a moment to get it: until then the lock is free anyway).
        time.sleep(0.2)
        deadline = time.monotonic() + 5
        while held_elsewhere(database) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not held_elsewhere(database)

        ours, theirs = from_queue.value, from_sqlite.value
        assert type(ours.orig) is type(theirs.orig) is sqlite3.OperationalError
        assert str(ours.orig) == str(theirs.orig) == "database is locked"
        assert ours.orig.sqlite_errorcode == theirs.orig.sqlite_errorcode == sqlite3.SQLITE_BUSY
        assert is_unavailable(ours)

        with write_transaction(engine) as conn:
            conn.exec_driver_sql("INSERT INTO log (writer, n) VALUES ('after', 1)")
        os.close(fd)
        assert not held_elsewhere(database)
    finally:
        engine.dispose()


def test_nested_entries_keep_the_lock_until_the_outermost_leaves(database: str) -> None:
    queue = WriterQueue(lock_path(database), timeout=1.0)
    with queue:
        with queue:
            assert held_elsewhere(database)
        assert held_elsewhere(database)  # the inner exit did not let it go
    assert not held_elsewhere(database)


def test_in_memory_databases_have_no_lock_file(tmp_path: Path) -> None:
    engine = create_engine("sqlite://")
    try:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        engine.dispose()
    file_engine = create_engine(f"sqlite:///{tmp_path / 'lazy.db'}")
    try:
        assert not Path(lock_path(str(tmp_path / "lazy.db"))).exists()  # opened on the first write
        with write_transaction(file_engine) as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert Path(lock_path(str(tmp_path / "lazy.db"))).exists()
    finally:
        file_engine.dispose()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_the_lock_file_is_closed_with_its_engine(database: str) -> None:
    """Tests and CLI commands make engine after engine: each must not leave a descriptor behind."""

    def open_lock_files() -> int:
        return sum(1 for fd in Path("/proc/self/fd").iterdir() if _target(fd) == lock_path(database))

    engine = create_engine(f"sqlite:///{database}")
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("INSERT INTO log (writer, n) VALUES ('gc', 1)")
    assert open_lock_files() == 1
    engine.dispose()
    del engine, conn
    gc.collect()
    assert open_lock_files() == 0


def _target(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # closed since listed
        return ""
