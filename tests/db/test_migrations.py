"""Schema migrations: numbered steps, automatic backup, schema equal to the models."""

from __future__ import annotations

import sqlite3

import peewee
import pytest

from app.errors import DatabaseError
from db.connection import DB_FILENAME, close_database, open_database
from db.migrations import LATEST, available
from db.models import ALL_MODELS, Notice


def _at_schema(path, version: int) -> sqlite3.Connection:
    """A database file made by the first ``version`` migrations, left open for test data."""
    conn = sqlite3.connect(path)
    for step in available()[:version]:
        for statement in step.statements():
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def _make_v1(path):
    conn = _at_schema(path, 1)
    conn.execute(
        "INSERT INTO region (id, version, updated_at, deleted, name, level, sort_key) "
        "VALUES ('r1', 1, '2026-01-01T00:00:00Z', 0, '老镇', 'township', '')"
    )
    conn.commit()
    conn.close()


def test_a_schema_1_database_is_migrated_to_the_latest_with_a_backup_first(tmp_path):
    db_path = tmp_path / DB_FILENAME
    _make_v1(db_path)
    db = open_database(db_path)
    try:
        assert db.execute_sql("PRAGMA user_version").fetchone()[0] == LATEST
        assert db.execute_sql("SELECT name FROM region").fetchone()[0] == "老镇"
        assert {"outbox", "sync_state"} <= set(db.get_tables())
    finally:
        close_database()
    backups = list((tmp_path / "backups").glob("before-schema-2-*.sqlite3"))
    assert len(backups) == 1
    conn = sqlite3.connect(backups[0])
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT name FROM region").fetchone()[0] == "老镇"
    assert "outbox" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()


def test_a_new_database_needs_no_backup(tmp_path):
    open_database(tmp_path / DB_FILENAME)
    close_database()
    assert not (tmp_path / "backups").exists()


def test_every_model_matches_the_migrated_schema(ctx):
    for model in ALL_MODELS:
        table = model._meta.table_name
        columns = {c.name for c in ctx.db.get_columns(table)}
        fields = {f.column_name for f in model._meta.sorted_fields}
        assert columns == fields, table


def test_pragmas_are_in_force(ctx):
    assert ctx.db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ctx.db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert ctx.db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_data_folder_and_database_are_private(ctx):
    assert (ctx.data_dir.stat().st_mode & 0o077) == 0
    assert ((ctx.data_dir / DB_FILENAME).stat().st_mode & 0o077) == 0


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    db_path = tmp_path / DB_FILENAME
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(DatabaseError, match="更新版本"):
        open_database(db_path)
    close_database()


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    db_path = tmp_path / DB_FILENAME
    db_path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="损坏"):
        open_database(db_path)
    close_database()
    assert db_path.read_bytes() == b"this is not sqlite" * 100


def test_a_failing_migration_step_leaves_the_database_at_the_earlier_schema(tmp_path, monkeypatch):
    from db import migrations

    db_path = tmp_path / DB_FILENAME
    _make_v1(db_path)
    real = migrations.Migration.statements

    def broken(self):
        out = real(self)
        return out + ["CREATE TABLE broken (" ] if self.number == 2 else out

    monkeypatch.setattr(migrations.Migration, "statements", broken)
    with pytest.raises(peewee.OperationalError):
        open_database(db_path)
    close_database()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "outbox" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()


def test_notice_model_is_usable_after_migration(ctx):
    assert Notice.select().count() == 0


def test_schema_3_keeps_existing_audit_events_as_this_workstations_chain(tmp_path):
    import json as _json

    from app.audit import GENESIS, _event_hash, record, verify_chain
    from app.context import Context
    from app.settings import workstation_id
    from db.models import AuditEvent

    db_path = tmp_path / DB_FILENAME
    conn = _at_schema(db_path, 2)
    prev = GENESIS
    for seq in (1, 2):
        event = AuditEvent(id=f"e{seq}", seq=seq, at="2026-01-01T00:00:00Z", user_id=None, username="clerk",
                           action="notice.create", object_entity="notice", object_id="n1", summary={"n": seq},
                           prev_hash=prev)
        event.hash = _event_hash(event)
        conn.execute(
            'INSERT INTO audit_event (id, version, updated_at, deleted, township_id, seq, at, user_id, username, '
            'action, object_entity, object_id, summary, prev_hash, hash) '
            "VALUES (?, 1, 'x', 0, NULL, ?, ?, NULL, 'clerk', 'notice.create', 'notice', 'n1', ?, ?, ?)",
            (event.id, seq, event.at, _json.dumps({"n": seq}), prev, event.hash))
        prev = event.hash
    conn.commit()
    conn.close()

    db = open_database(db_path)
    try:
        assert verify_chain().ok and verify_chain().events == 2
        station = workstation_id()
        assert {e.workstation_id for e in AuditEvent.select()} == {station}
        with db.atomic():
            record(Context(db=db, data_dir=tmp_path), None, "notice.edit", "notice", "n1", {})
        assert AuditEvent.select().where(AuditEvent.workstation_id == station).count() == 3
        assert verify_chain().ok
    finally:
        close_database()
    assert list((tmp_path / "backups").glob("before-schema-3-*.sqlite3"))


def test_schema_4_gives_existing_accounts_the_row_columns_and_they_still_sign_in(tmp_path):
    from app.context import Context
    from app.users import UserService, hash_password

    db_path = tmp_path / DB_FILENAME
    conn = _at_schema(db_path, 3)
    conn.execute("INSERT INTO local_setting (key, value) VALUES ('township_id', '\"t1\"')")
    conn.execute('INSERT INTO "user" (id, username, display_name, role, password_hash, active, created_at) '
                 "VALUES ('u1', 'clerk', '张丽', 'preparer', ?, 1, '2026-03-01T08:00:00Z')",
                 (hash_password("passw0rd!"),))
    conn.commit()
    conn.close()

    db = open_database(db_path)
    try:
        row = db.execute_sql('SELECT version, updated_at, deleted, township_id FROM "user"').fetchone()
        assert row == (1, "2026-03-01T08:00:00Z", 0, "t1")
        users = UserService(Context(db=db, data_dir=tmp_path))
        assert users.authenticate("clerk", "passw0rd!").display_name == "张丽"
        db.execute_sql('UPDATE "user" SET deleted = 1')
        with pytest.raises(Exception, match="用户名或密码不正确"):
            users.authenticate("clerk", "passw0rd!")
        assert users.list() == [] and users.get("u1").active is False  # the log's name stays readable
    finally:
        close_database()
    assert list((tmp_path / "backups").glob("before-schema-4-*.sqlite3"))
