"""Sign-in, the first-run wizard, settings, backup and restore, and the global error hook."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget, QWizard

from app.i18n import set_language
from app.users import UserService
from tests.sync.test_client import county, enroll_code  # noqa: F401 (fixture)
from tests.ui.conftest import save_screenshot

WAIT = 120_000


def _shoot(qtbot, build, name: str, size: tuple[int, int] | None = None) -> None:
    """With GONGKAI_SCREENSHOTS set, render a freshly built widget in Chinese and in English."""
    if not os.environ.get("GONGKAI_SCREENSHOTS"):
        return
    for language in ("zh_CN", "en"):
        set_language(language)
        try:
            widget = build()
            qtbot.addWidget(widget)
            if size:
                widget.resize(*size)
            widget.show()
            qtbot.wait(100)
            save_screenshot(widget, f"{name}_{language}")
            widget.close()
        finally:
            set_language("zh_CN")


def _visible_boxes(parent: QWidget) -> list[QMessageBox]:
    return [b for b in parent.findChildren(QMessageBox) if b.isVisible()]


# ------------------------------------------------------------------------------ login
def test_a_wrong_password_is_refused_with_a_clear_message(qtbot, demo_ctx):
    from ui.login import LoginDialog

    dialog = LoginDialog(demo_ctx)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.keyClicks(dialog.username_edit, "zhangli")
    qtbot.keyClicks(dialog.password_edit, "not-the-password")
    qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text() == "用户名或密码不正确，或账户已停用。"
    assert dialog.isVisible() and dialog.user is None
    assert dialog.password_edit.text() == ""  # typed again, not left for the next person
    qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text() == "请输入用户名和密码。"


def test_the_right_password_signs_in_and_the_name_is_remembered(qtbot, demo_ctx):
    from ui.login import LoginDialog

    dialog = LoginDialog(demo_ctx)
    qtbot.addWidget(dialog)
    dialog.open()
    assert dialog.heading.text() == "石门镇 村务政务公开栏"
    qtbot.keyClicks(dialog.username_edit, "zhangli")
    qtbot.keyClicks(dialog.password_edit, "gongkai-demo")
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.user.username == "zhangli" and dialog.user.role == "preparer"
    again = LoginDialog(demo_ctx)
    qtbot.addWidget(again)
    assert again.username_edit.text() == "zhangli"
    _shoot(qtbot, lambda: LoginDialog(demo_ctx), "login")


# ------------------------------------------------------------------------------ first run
def test_the_first_run_wizard_creates_the_demo_and_names_the_demo_accounts(qtbot, ctx):
    from app.maintenance import workstation_state
    from ui.first_run import DEMO, FirstRunWizard

    assert workstation_state().needs_setup
    _shoot(qtbot, lambda: FirstRunWizard(ctx), "first_run_choice")
    _shoot(qtbot, lambda: _wizard_on_enrolment(ctx), "first_run_enrol")
    wizard = FirstRunWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.open()
    wizard.choice_page.demo_radio.setChecked(True)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    assert wizard.currentId() == DEMO
    assert not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    wizard.reject()  # closing while the township is half made is refused
    assert wizard.isVisible()
    qtbot.waitUntil(lambda: wizard.demo_page.done, timeout=WAIT)
    text = wizard.demo_page.accounts.text()
    for account in ("zhangli", "wangqiang", "admin", "gongkai-demo"):
        assert account in text
    assert "9 个村" in wizard.demo_page.message.text()
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    assert not wizard.button(QWizard.WizardButton.BackButton).isVisible()
    save_screenshot(wizard, "first_run_demo_done")
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert wizard.result() == QDialog.DialogCode.Accepted
    state = workstation_state()
    assert not state.needs_setup and state.township_name == "石门镇"
    assert wizard.suggested_username == "zhangli"


def _wizard_on_enrolment(ctx):
    from ui.first_run import FirstRunWizard

    wizard = FirstRunWizard(ctx)
    wizard.show()
    wizard.next()
    return wizard


def test_the_first_run_wizard_enrols_makes_an_administrator_and_fetches_the_township(
        qtbot, county, ctx):  # noqa: F811 (fixture from tests.sync.test_client)
    from app.maintenance import workstation_state
    from app.reference import ReferenceService
    from ui.first_run import ACCOUNT, FIRST_SYNC, FirstRunWizard

    base, db_url, _township = county
    wizard = FirstRunWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.open()
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)  # enrolment is the default choice
    page = wizard.enrol_page
    assert not next_button.isEnabled()  # nothing typed yet
    qtbot.keyClicks(page.url_edit, "gongkai.county")
    qtbot.keyClicks(page.code_edit, enroll_code(db_url))
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert "http://" in page.error_label.text()
    page.url_edit.setText(base)
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.currentId() == ACCOUNT, timeout=WAIT)

    account = wizard.account_page
    account.display_name_edit.setText("李主任")  # keyClicks cannot type Chinese
    qtbot.keyClicks(account.password_edit, "secret-pass-1")
    qtbot.keyClicks(account.password_again_edit, "secret-pass-2")
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert account.error_label.text() == "两次输入的密码不一致。"
    account.password_again_edit.setText("secret-pass-1")
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() == FIRST_SYNC
    qtbot.waitUntil(lambda: wizard.first_sync_page.done, timeout=WAIT)
    assert wizard.first_sync_page.run is not None, wizard.first_sync_page.message.text()
    assert "石门镇" in wizard.first_sync_page.message.text()
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert wizard.result() == QDialog.DialogCode.Accepted
    assert not workstation_state().needs_setup
    assert len(ReferenceService(ctx).regions("village")) == 9
    assert UserService(ctx).authenticate("admin", "secret-pass-1").role == "admin"
    assert wizard.suggested_username == "admin"


def test_a_township_without_accounts_starts_at_the_administrator_page(qtbot, ctx):
    from app.settings import set_local
    from ui.first_run import ACCOUNT, FirstRunWizard

    set_local("township_id", "t-1")  # e.g. enrolled from the command line
    wizard = FirstRunWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.open()
    assert wizard.currentId() == ACCOUNT
    page = wizard.account_page
    page.display_name_edit.setText("李主任")
    qtbot.keyClicks(page.password_edit, "short")
    qtbot.keyClicks(page.password_again_edit, "short")
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
    assert page.error_label.text() == "密码至少需要 8 个字符。"
    page.password_edit.setText("long enough")
    page.password_again_edit.setText("long enough")
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
    assert wizard.result() == QDialog.DialogCode.Accepted
    assert [u.username for u in UserService(ctx).list()] == ["admin"]


# ------------------------------------------------------------------------------ settings
def test_the_language_is_stored_and_takes_effect_after_a_restart(qtbot, clerk_env):
    from app.preferences import ui_language
    from ui.settings_dialog import SettingsDialog

    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = SettingsDialog(clerk_env, parent)
    dialog.open()
    assert dialog.users_tab is None  # only administrators manage accounts
    assert dialog.language_combo.currentText() == "简体中文"
    dialog.language_combo.setCurrentIndex(dialog.language_combo.findData("en"))
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert ui_language() == "en"
    assert dialog.result() == QDialog.DialogCode.Accepted
    [box] = _visible_boxes(parent)
    assert "English" in box.text() and "重新启动" in box.text()


def test_settings_show_what_the_county_decides(qtbot, admin_env):
    from ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(admin_env)
    qtbot.addWidget(dialog)
    assert dialog.mask_label.text() == "2+3，例如 53*************231"
    assert not dialog.server_edit.isReadOnly()  # not enrolled yet: the URL is still to be entered
    periods = {dialog.periods_table.item(r, 0).text(): dialog.periods_table.item(r, 2).text()
               for r in range(dialog.periods_table.rowCount())}
    assert periods["惠农补贴发放情况公示"] == "7 个自然日"
    assert "10 个工作日" in periods.values()
    _shoot(qtbot, lambda: _settings_on(admin_env, 2), "settings_periods", (860, 600))
    _shoot(qtbot, lambda: _settings_on(admin_env, 1), "settings_county", (860, 600))
    _shoot(qtbot, lambda: _settings_on(admin_env, 0), "settings_general", (860, 600))


def _settings_on(env, tab: int):
    from ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(env)
    dialog.tabs.setCurrentIndex(tab)
    return dialog


def test_an_administrator_creates_a_user_with_a_role(qtbot, admin_env):
    from ui.common import Changes
    from ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(admin_env)
    qtbot.addWidget(dialog)
    dialog.tabs.setCurrentWidget(dialog.users_tab)
    before = dialog.users_table.rowCount()
    qtbot.keyClicks(dialog.new_username, "zhaoxia")
    dialog.new_display_name.setText("赵霞")
    dialog.new_role.setCurrentIndex(dialog.new_role.findData("reviewer"))
    qtbot.keyClicks(dialog.new_password, "long enough")
    qtbot.keyClicks(dialog.new_password_again, "long enougH")
    qtbot.mouseClick(dialog.create_user_button, Qt.MouseButton.LeftButton)
    assert dialog.user_message.text() == "两次输入的密码不一致。"
    dialog.new_password_again.setText("long enough")
    with qtbot.waitSignal(admin_env.bus.changed) as blocker:
        qtbot.mouseClick(dialog.create_user_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [Changes(users=True)]
    assert dialog.user_message.text() == "已创建用户 zhaoxia（审核人）。"
    assert dialog.users_table.rowCount() == before + 1
    assert UserService(admin_env.ctx).authenticate("zhaoxia", "long enough").role == "reviewer"
    qtbot.keyClicks(dialog.new_username, "zhaoxia")
    dialog.new_display_name.setText("另一个")
    dialog.new_password.setText("long enough")
    dialog.new_password_again.setText("long enough")
    qtbot.mouseClick(dialog.create_user_button, Qt.MouseButton.LeftButton)
    assert dialog.user_message.text() == "用户名已存在。"
    _shoot(qtbot, lambda: _settings_on(admin_env, 3), "settings_users", (860, 600))


# ------------------------------------------------------------------------------ backup
def test_a_backup_is_written_off_the_gui_thread_and_opens(qtbot, clerk_env, tmp_path):
    from app.maintenance import inspect_backup
    from ui.settings_dialog import backup_database

    parent = QWidget()
    qtbot.addWidget(parent)
    target = tmp_path / "U盘" / "备份"
    op = backup_database(clerk_env, parent, path=target)
    with qtbot.waitSignal(op.finished, timeout=WAIT):
        pass
    written = target.with_suffix(".sqlite3")
    assert written.is_file() and oct(written.stat().st_mode & 0o777) == "0o600"
    info = inspect_backup(written)
    assert info.notices == 14 and info.township == "石门镇"
    conn = sqlite3.connect(written)
    assert conn.execute("SELECT count(*) FROM roster_row").fetchone()[0] > 2000
    conn.close()
    [box] = _visible_boxes(parent)
    assert str(written) in box.text() and "14 份公示" in box.text() and "个人信息" in box.text()


def test_restore_asks_for_the_word_then_replaces_the_database_and_restarts(qtbot, admin_env, tmp_path, monkeypatch):
    from ui import settings_dialog
    from ui.settings_dialog import backup_database, restore_database

    parent = QWidget()
    qtbot.addWidget(parent)
    op = backup_database(admin_env, parent, path=tmp_path / "before.sqlite3")
    with qtbot.waitSignal(op.finished, timeout=WAIT):
        pass
    users = UserService(admin_env.ctx)
    users.create("later", "后来的人", "preparer", "long enough")
    restarted = []
    monkeypatch.setattr(settings_dialog, "restart_application", lambda: restarted.append(True))

    flow = restore_database(admin_env, parent, path=tmp_path / "before.sqlite3")
    with qtbot.waitSignal(flow.inspect_op.finished, timeout=WAIT):
        pass
    dialog = flow.confirm_dialog
    assert dialog.isVisible() and not dialog.ok_button.isEnabled()
    save_screenshot(dialog, "restore_confirm")
    dialog.confirm_edit.setText("恢")  # as typed with an input method
    assert not dialog.ok_button.isEnabled()
    dialog.confirm_edit.setText("恢复")
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(flow.finished, timeout=WAIT):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert "later" not in [u.username for u in users.list()]  # the backup did not have it
    assert "重新启动" in flow.restart_box.text()
    assert list((admin_env.ctx.data_dir / "backups").glob("before-restore-*.sqlite3"))
    flow.restart_box.button(QMessageBox.StandardButton.Ok).click()
    assert restarted == [True]


def test_only_an_administrator_may_restore(qtbot, clerk_env, tmp_path):
    from ui.settings_dialog import restore_database

    parent = QWidget()
    qtbot.addWidget(parent)
    flow = restore_database(clerk_env, parent, path=tmp_path / "whatever.sqlite3")
    assert flow.inspect_op is None
    [box] = _visible_boxes(parent)
    assert "管理员" in box.text()


# ------------------------------------------------------------------------------ start-up
def test_an_uncaught_error_is_logged_without_personal_data_and_shown_plainly(qtbot, ctx, caplog):
    from ui.app import ExceptionHook

    hook = ExceptionHook()
    try:
        raise ValueError("bad row for 王小明 '530102199001011231' phone 13812345678")
    except ValueError:
        exc_type, exc, tb = sys.exc_info()
    with caplog.at_level(logging.ERROR, logger="gongkai"):
        hook(exc_type, exc, tb)
    logged = caplog.text
    assert "ValueError" in logged and "test_settings_login.py" in logged
    assert "530102199001011231" not in logged and "13812345678" not in logged and "王小明" not in logged
    assert hook.box is not None and hook.box.isVisible()
    assert "意外错误" in hook.box.text() and "530102" not in hook.box.detailedText()
    first = hook.box
    hook(exc_type, exc, tb)  # a second error while the first is shown: logged, not stacked
    assert hook.box is first
    first.close()


def test_the_user_guide_is_found():
    from ui.app import guide_path

    assert guide_path().name == "用户指南.md"


@pytest.fixture(autouse=True)
def _close_message_boxes(qapp):
    yield
    for w in qapp.topLevelWidgets():
        if isinstance(w, QMessageBox):
            w.close()


def test_start_up_goes_through_first_run_and_sign_in_to_the_main_window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from app.i18n import language
    from app.paths import AppPaths
    from db.connection import close_database
    from ui import app as ui_app
    from ui.first_run import FirstRunWizard
    from ui.login import LoginDialog

    shown = {}

    def wizard_exec(wizard):
        wizard.show()
        wizard.choice_page.demo_radio.setChecked(True)
        wizard.next()
        qtbot.waitUntil(lambda: wizard.demo_page.done, timeout=WAIT)
        wizard.accept()
        return wizard.result()

    def login_exec(dialog):
        dialog.show()
        shown["username"] = dialog.username_edit.text()
        dialog.password_edit.setText("gongkai-demo")
        dialog.try_login()
        return dialog.result()

    def app_exec(_app):
        window = next(w for w in QApplication.topLevelWidgets() if hasattr(w, "sync_label") and w.isVisible())
        shown["window"] = window
        shown["status"] = window.sync_label.text()
        shown["hook"] = sys.excepthook
        window.close()
        return 0

    monkeypatch.setattr(FirstRunWizard, "exec", wizard_exec)
    monkeypatch.setattr(LoginDialog, "exec", login_exec)
    monkeypatch.setattr(QApplication, "exec", app_exec)
    try:
        assert ui_app.run(AppPaths(tmp_path / "data")) == 0
    finally:
        close_database()
    assert shown["username"] == "zhangli"  # the wizard's suggestion, pre-filled
    assert shown["window"].env.user.username == "zhangli"
    assert shown["status"] == "未注册到县级服务器"
    assert isinstance(shown["hook"], ui_app.ExceptionHook) and sys.excepthook is not shown["hook"]
    assert language() == "zh_CN"
    assert (tmp_path / "data" / "logs").is_dir()
    shown["window"].deleteLater()


def test_a_print_font_is_checked_before_it_is_stored(qtbot, clerk_env, tmp_path):
    from app.preferences import print_font
    from printing.fonts import find_cjk_font
    from ui.settings_dialog import SettingsDialog

    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = SettingsDialog(clerk_env, parent)
    not_a_font = tmp_path / "fake.ttf"
    not_a_font.write_bytes(b"not a font")
    with qtbot.waitSignal(dialog.choose_font(str(not_a_font)).finished, timeout=WAIT):
        pass
    assert any("fake.ttf" in b.text() for b in dialog.findChildren(QMessageBox) if b.isVisible())
    good = str(find_cjk_font().path)
    with qtbot.waitSignal(dialog.choose_font(good).finished, timeout=WAIT):
        pass
    assert dialog.font_label.text() == f"指定：{good}"
    dialog.save()
    assert print_font() == good
