"""Services behind settings, first run, backup and restore (no Qt)."""

from __future__ import annotations

import sqlite3

import pytest

from app.errors import DatabaseError, PermissionDenied, ValidationError
from app.maintenance import (
    backup_to,
    crash_report,
    default_backup_name,
    inspect_backup,
    restore_from,
    scrub,
    workstation_state,
)
from app.preferences import masking_info, posting_defaults, set_ui_language, ui_language
from app.users import UserService
from db.models import AuditEvent


def _user(ctx, username):
    return next(u for u in UserService(ctx).list() if u.username == username)


def test_only_an_administrator_creates_accounts_and_the_actor_is_audited(demo_ctx):
    users = UserService(demo_ctx)
    with pytest.raises(PermissionDenied):
        users.create("x1", "某人", "preparer", "long enough", by=_user(demo_ctx, "zhangli").id)
    admin = _user(demo_ctx, "admin")
    created = users.create("x1", "某人", "reviewer", "long enough", by=admin.id)
    event = AuditEvent.select().where(AuditEvent.object_id == created.id).get()
    assert event.action == "user.create" and event.username == "admin"


def test_new_account_values_are_checked_without_creating_anything(demo_ctx):
    users = UserService(demo_ctx)
    before = len(users.list())
    for args, message in ((("zhangli", "重名", "preparer", "long enough"), "用户名已存在"),
                          (("new", "", "preparer", "long enough"), "不能为空"),
                          (("new", "新人", "preparer", "short"), "8 个字符"),
                          (("new", "新人", "boss", "long enough"), "未知的角色")):
        with pytest.raises(ValidationError, match=message):
            users.check_new(*args)
    users.check_new("new", "新人", "admin", "long enough")
    assert len(users.list()) == before


def test_the_language_is_a_workstation_setting(ctx):
    assert ui_language() == "zh_CN"
    set_ui_language(ctx, "en")
    assert ui_language() == "en"
    with pytest.raises(ValidationError):
        set_ui_language(ctx, "fr")
    assert ui_language() == "en"


def test_the_county_rules_are_described_for_reading(demo_ctx):
    mask = masking_info()
    assert (mask.pattern, mask.example, mask.show_id_column) == ("2+3", "53*************231", False)
    periods = {p.code: (p.min_days, p.day_unit) for p in posting_defaults()}
    assert periods["subsidy_payout"] == (7, "natural")
    assert any(unit == "working" for _days, unit in periods.values())


def test_first_run_state(ctx, demo_ctx):
    state = workstation_state()  # demo_ctx is the open database now
    assert not state.needs_setup and state.township_name == "石门镇"


def test_an_empty_workstation_needs_setting_up(ctx):
    state = workstation_state()
    assert state.needs_setup and not state.has_township and not state.has_users


def test_a_backup_opens_and_a_restore_needs_an_administrator(demo_ctx, tmp_path):
    assert default_backup_name(demo_ctx) == "公开栏备份-20261125-1000.sqlite3"
    admin, clerk = _user(demo_ctx, "admin"), _user(demo_ctx, "zhangli")
    info = backup_to(demo_ctx, tmp_path / "b.sqlite3", by=clerk)
    assert info.notices == 14 and info.users == 4 and info.township == "石门镇"
    assert AuditEvent.select().where(AuditEvent.action == "database.backup").count() == 1
    UserService(demo_ctx).create("later", "后来", "preparer", "long enough")
    with pytest.raises(PermissionDenied):
        restore_from(demo_ctx, tmp_path / "b.sqlite3", clerk)
    result = restore_from(demo_ctx, tmp_path / "b.sqlite3", admin)
    assert "later" not in [u.username for u in UserService(demo_ctx).list()]
    assert result.safety_backup.is_file()
    safety = sqlite3.connect(result.safety_backup)
    assert safety.execute("SELECT count(*) FROM user WHERE username = 'later'").fetchone()[0] == 1
    safety.close()


def test_an_unusable_backup_changes_nothing(demo_ctx, tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DatabaseError):
        inspect_backup(bad)
    admin = _user(demo_ctx, "admin")
    with pytest.raises(DatabaseError):
        restore_from(demo_ctx, bad, admin)
    assert len(UserService(demo_ctx).list()) == 4


def test_crash_reports_keep_the_code_and_drop_personal_data():
    try:
        raise KeyError("张三 530102199001011231 6222021234567890123 13812345678")
    except KeyError as err:
        report = crash_report(type(err), err, err.__traceback__)
    assert "test_maintenance.py" in report and "KeyError" in report
    for secret in ("张三", "530102199001011231", "6222021234567890123", "13812345678"):
        assert secret not in report
    assert scrub('  File "/x/app/rows.py", line 12, in f') == '  File "/x/app/rows.py", line 12, in f'
