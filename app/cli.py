"""Command line: ``python main.py`` opens the desktop app; ``python main.py COMMAND`` runs the same
services headless. Every command takes ``--data-dir`` and, on failure, exits non-zero with a
one-line reason on stderr (never a traceback, never personal data)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.context import Clock, Context
from app.errors import AppError
from app.paths import AppPaths

log = logging.getLogger("gongkai")

Handler = Callable[[argparse.Namespace], int]


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def open_context(data_dir: str | None, *, must_exist: bool = False) -> Context:
    from db.connection import open_database

    paths = AppPaths.resolve(data_dir)
    if paths.data_dir.exists() and not paths.data_dir.is_dir():
        raise AppError(f"数据目录不是文件夹：{paths.data_dir}")
    if must_exist and not paths.database.exists():
        raise AppError(f"数据目录中没有数据库：{paths.data_dir}（先运行 demo，或在程序中完成首次设置）")
    db = open_database(paths.database, backup_dir=paths.backups)
    return Context(db=db, data_dir=paths.data_dir)


# ---------------------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import DEMO_PASSWORD, create_demo
    from app.settings import local_township_id

    ctx = open_context(args.data_dir)
    if local_township_id() is not None:
        raise AppError("该数据目录已有乡镇数据，演示数据只能创建在空的数据目录中。")
    summary = create_demo(ctx, seed=args.seed)
    if args.json:
        _print_json({"township_id": summary.township_id, "villages": summary.villages,
                     "notices": summary.notices, "rows": summary.rows, "users": summary.users,
                     "notes": list(summary.notes)})
    else:
        print(f"演示乡镇已创建：{summary.villages} 个村，{summary.notices} 份公示，{summary.rows} 行明细。")
        print(f"登录账户：{', '.join(summary.users)}（密码均为 {DEMO_PASSWORD}）")
        for note in summary.notes:
            print(f"说明：{note}")
    return 0


def cmd_notices(args: argparse.Namespace) -> int:
    from app.notices import NoticeService

    ctx = open_context(args.data_dir, must_exist=True)
    items = NoticeService(ctx).summaries()
    data = [
        {"id": s.id, "title": s.title, "type": s.type_code, "status": s.status,
         "village": s.village or None, "village_id": s.village_id, "version": s.edition,
         "posting_start": s.posting_start, "posting_end": s.posting_end, "rows": s.rows,
         "total_fen": s.total_fen}
        for s in items
    ]
    if args.json:
        _print_json(data)
    else:
        for d in data:
            print(f"{d['id']}  {d['status']:<10} {d['rows']:>6} 行  {d['title']}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from app.reference import ReferenceService
    from app.users import UserService

    ctx = open_context(args.data_dir, must_exist=True)
    ref = ReferenceService(ctx)
    what = args.what
    if what in ("townships", "villages"):
        level = what[:-1]
        data = [{"id": r.id, "name": r.name, "code": r.code, "parent_id": r.parent_id}
                for r in ref.regions(level)]
    elif what == "programs":
        data = [{"id": p.id, "name": p.name, "category": p.category, "year": p.year, "unit": p.unit,
                 "rate": p.rate, "notice_type": p.notice_type_code, "local": p.local}
                for p in ref.programs()]
    elif what == "boards":
        data = [{"id": b.id, "name": b.name, "village_id": b.village_id, "location": b.location}
                for b in ref.boards()]
    else:
        data = [{"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
                 "active": u.active} for u in UserService(ctx).list()]
    if args.json:
        _print_json(data)
    else:
        for d in data:
            print("  ".join(str(v) for v in d.values() if v is not None))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from app.integrity import verify_database

    ctx = open_context(args.data_dir, must_exist=True)
    report = verify_database(ctx)
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not report.ok:
        print(f"verify failed: {report.first_problem}", file=sys.stderr)
        return 1
    parts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.checked.items())
    print(f"database sound: integrity ok, foreign keys ok, {parts} checked")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from app.maintenance import backup_to

    ctx = open_context(args.data_dir, must_exist=True)
    out = Path(args.output) if args.output else AppPaths(ctx.data_dir).backups / (
        ctx.clock.now().astimezone(UTC).strftime("gongkai-%Y%m%dT%H%M%SZ.sqlite3"))
    info = backup_to(ctx, out)
    print(f"backup written: {out} ({info.size:,} bytes, {info.notices} notices)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from app.maintenance import inspect_backup, restore_from

    source = Path(args.file)
    inspect_backup(source)  # before anything is touched, even the data folder
    ctx = open_context(args.data_dir)
    result = restore_from(ctx, source, None)
    print(f"restored from {source.name}; the previous database was saved as {result.safety_backup.name}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from app.importing import ReadError
    from app.imports import ImportService
    from db.models import User

    ctx = open_context(args.data_dir, must_exist=True)
    by = args.user
    user = User.get_or_none(User.username == by) if by else (
        User.select().where((User.role == "preparer") & User.active).order_by(User.username).first())
    if user is None:
        raise AppError("找不到可用的经办人账户（用 --user 指定用户名）。")
    try:
        result = ImportService(ctx).import_file(
            Path(args.file), program_id=args.program, by=user.id, village_id=args.village,
            sheet=args.sheet, dry_run=args.dry_run)
    except ReadError as err:
        if args.json:
            _print_json({"file": Path(args.file).name, "error": str(err)})
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.report:
        from app.imports import write_validation_report

        write_validation_report(result, Path(args.report))
    if args.json:
        _print_json(result.as_json())
    else:
        print(f"{result.file} [{result.sheet}]: {result.data_rows} 行，其中 {result.valid_rows} 行无误"
              + (f"；已导入草稿 {result.notice_id}" if result.notice_id else "（试运行，未保存）"))
        for note in result.notes:  # how the table was read: which column was taken, what was left out
            print(f"  说明：{note}")
        for line in result.invalid_rows:
            print(f"  第 {line.row} 行 “{line.column}”：{line.message}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from app.exports import ExportService
    from db.models import User

    ctx = open_context(args.data_dir, must_exist=True)
    user = User.get_or_none(User.username == args.user) if args.user else (
        User.select().where((User.role == "preparer") & User.active).order_by(User.username).first())
    if user is None:
        raise AppError("找不到可用的经办人账户（用 --user 指定用户名）。")
    result = ExportService(ctx).export(args.notice_id, args.view, Path(args.output), user.id)
    print(f"exported {result.rows} rows ({result.view}) to {result.path}")
    return 0


def _bundle_key_file(args: argparse.Namespace, url: str) -> Path:
    """The county's signing key file for USB replies: ``--bundle-key``, else beside a SQLite
    database, else in the data folder (see server.keys)."""
    from server.keys import default_key_file

    if getattr(args, "bundle_key", None):
        return Path(args.bundle_key).expanduser().resolve()
    return default_key_file(url, AppPaths.resolve(args.data_dir).data_dir)


def _server_db(args: argparse.Namespace) -> str:
    from server.db import open_server_database
    from server.sync_service import create_schema

    url = args.db or f"sqlite:///{AppPaths.resolve(args.data_dir).data_dir / 'county.sqlite3'}"
    db = open_server_database(url, _bundle_key_file(args, url))
    with db.connection_context():
        create_schema()
    return url


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    url = _server_db(args)
    # the client's address comes from X-Forwarded-For only when the peer is a configured proxy:
    # anyone else could rotate the header and escape every per-address limit
    proxies = {"proxy_headers": bool(args.trusted_proxy), "forwarded_allow_ips": ",".join(args.trusted_proxy) or None}
    if args.workers > 1:
        import os

        os.environ["GONGKAI_SERVER_DB"] = url
        os.environ["GONGKAI_BUNDLE_KEY"] = str(_bundle_key_file(args, url))
        if args.https_only:
            os.environ["GONGKAI_HTTPS_ONLY"] = "1"
        os.environ["GONGKAI_PAGE_CACHE"] = str(args.page_cache)
        uvicorn.run("server.app:create_app_from_env", factory=True, workers=args.workers, host=args.host,
                    port=args.port, log_level="warning", **proxies)
    else:
        uvicorn.run(create_app(clock=Clock(), https_only=args.https_only, page_cache=args.page_cache),
                    host=args.host, port=args.port,
                    log_level="warning", **proxies)
    return 0


def cmd_county(args: argparse.Namespace) -> int:
    from server import county
    from server import sync_service as svc
    from server.db import database

    url = _server_db(args)
    try:
        if args.action == "backup":
            print(f"county database copied to {county.backup(url, Path(args.to))}")
            return 0
        if args.action == "restore":
            new_epoch = county.restore(url, Path(args.source) if args.source else None)
            print(f"restored; new epoch {new_epoch}: workstations re-send what the backup lacks on their next sync")
            return 0
        with database.connection_context():
            if args.action == "init":
                county.init_county(args.county_code, args.name, args.public_url)
                print(f"county {args.name} ({args.county_code}) ready; public URL {args.public_url}")
            elif args.action == "add-township":
                township_id = county.add_township(args.code, args.name)
                print(township_id)
            elif args.action == "enroll-code":
                print(svc.create_enroll_code(args.township, Clock().now(), hours=args.hours))
            elif args.action == "create-admin":
                password = sys.stdin.readline().rstrip("\n")
                county.create_admin(args.username, password)
                print(f"admin {args.username} saved")
            elif args.action == "import-divisions":
                return _import_divisions(Path(args.file), args.json)
    except svc.SyncError as err:
        raise AppError(err.message) from err
    return 0


def _import_divisions(path: Path, as_json: bool) -> int:
    """``county import-divisions``: exit 1, changing nothing, when any row is refused."""
    from server.divisions import DivisionError, DivisionReport, import_divisions

    try:
        report = import_divisions(path)
    except DivisionError as err:
        if not as_json or not err.refused:
            raise
        print(json.dumps(DivisionReport(path.name, refused=err.refused).as_dict(), ensure_ascii=False, indent=2))
        return 1
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
    return 0


def cmd_print(args: argparse.Namespace) -> int:
    from printing.service import PrintService

    ctx = open_context(args.data_dir, must_exist=True)
    service = PrintService(ctx)
    if args.program:
        if not args.per_village:
            raise AppError("按项目打印时请加 --per-village（每个村一份 PDF）。")
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)

        def progress(done: int, total: int, message: str) -> None:
            if args.verbose:
                print(f"[{done}/{total}] {message}", file=sys.stderr)

        files = service.print_program_by_village(args.program, out, progress=progress)
        print(f"{len(files)} notices printed to {out} (index: 00-打印清单.pdf)")
        return 0
    if not args.notice_id:
        raise AppError("请给出公示编号，或用 --program 按项目打印。")
    info = service.print_notice(args.notice_id, Path(args.output), paper=args.paper, landscape=args.landscape)
    orientation = "landscape" if info.landscape else "portrait"
    print(f"{_pages(info.pages)} ({info.paper.upper()} {orientation}) written to {args.output}")
    return 0


def _pages(n: int) -> str:
    return f"{n} page" if n == 1 else f"{n} pages"


def cmd_print_board(args: argparse.Namespace) -> int:
    from printing.service import PrintService

    ctx = open_context(args.data_dir, must_exist=True)
    info = PrintService(ctx).print_board_sheet(args.board_id, Path(args.output))
    print(f"board sheet ({_pages(info.pages)}) written to {args.output}")
    return 0


def cmd_print_slip(args: argparse.Namespace) -> int:
    from printing.service import PrintService

    ctx = open_context(args.data_dir, must_exist=True)
    PrintService(ctx).print_objection_slip(args.notice_id, Path(args.output))
    print(f"objection slip written to {args.output}")
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    import socket

    from sync.client import SyncClient

    ctx = open_context(args.data_dir)
    township_id = SyncClient(ctx).enroll(args.server, args.code, args.name or socket.gethostname())
    print(f"enrolled; township {township_id}. Run 'sync' to receive the county's data.")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from sync.client import LargeDeletion, SyncClient

    ctx = open_context(args.data_dir, must_exist=True)
    try:
        r = SyncClient(ctx).sync(confirm_deletes=args.allow_deletes)
    except LargeDeletion as err:
        raise AppError(f"{err} (run 'sync --allow-deletes' to go ahead)", details=err.details) from err
    print(f"sync done: {r.pushed} sent, {r.pulled} received, {r.conflicts} conflicts, {r.rejected} refused "
          f"({r.requests} requests)")
    if r.restored:
        print("the county server had been restored from a backup: what it lacked was sent again")
    if r.integrity:
        state = "repaired by a full re-sync" if r.repaired else "NOT repaired: see the sync problems"
        print(f"check after sync found differences in {', '.join(r.integrity)}; {state}")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    if args.action == "export":
        from sync.client import LargeDeletion, SyncClient

        ctx = open_context(args.data_dir, must_exist=True)
        try:
            count = SyncClient(ctx).export_bundle(Path(args.output), confirm_deletes=args.allow_deletes)
        except LargeDeletion as err:
            raise AppError(f"{err} (run 'bundle export --allow-deletes' to go ahead)", details=err.details) from err
        print(f"bundle written and verified: {count} changes in {args.output}; the stick can be removed")
        return 0
    if args.db:
        from server.bundle import import_bundle
        from server.db import open_server_database
        from server.sync_service import SyncError as ServerRefusal

        open_server_database(args.db, _bundle_key_file(args, args.db))
        reply = Path(args.output) if args.output else Path(args.file).with_suffix(".reply.gkb")
        try:
            summary = import_bundle(Path(args.file), reply, Clock().now())  # the county's clock
        except ServerRefusal as err:
            raise AppError(err.message) from err
        again = f" ({summary['already_applied']} already applied from an earlier import of this stick)" \
            if summary["already_applied"] else ""
        print(f"applied {summary['accepted']} changes{again}; reply with {summary['pulled']} updates written to {reply}")
        return 0
    from sync.client import SyncClient

    ctx = open_context(args.data_dir, must_exist=True)
    r = SyncClient(ctx).import_reply(Path(args.file))
    print(f"reply applied: {r.pushed} receipted, {r.pulled} received, {r.conflicts} conflicts, {r.rejected} refused")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from ui.app import run

    return run(AppPaths.resolve(args.data_dir))


# ---------------------------------------------------------------------------- parser
_BUNDLE_KEY_HELP = ("the county's key file that signs USB replies, kept outside the database (made on first use, "
                    "0600); default: NAME-keys/ beside a SQLite database NAME.sqlite3, else county-keys/ in the data folder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gongkai", description="Gongkai 公开栏 — township disclosure boards")
    parser.add_argument("--data-dir", help="data folder (default: the user data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    # The same options after the command; SUPPRESS keeps a value given before the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help="data folder (default: the user data folder)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log progress to stderr")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("demo", parents=[common], help="create a demo township in an empty data folder")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("notices", parents=[common], help="list notices")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_notices)

    p = sub.add_parser("list", parents=[common], help="list reference data")
    p.add_argument("what", choices=["townships", "villages", "programs", "boards", "users"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("verify", parents=[common], help="check integrity and the audit chain")
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("backup", parents=[common], help="write a consistent backup")
    p.add_argument("-o", "--output", help="backup file (default: in the data folder's backups/)")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser("restore", parents=[common], help="replace the database with a backup")
    p.add_argument("file")
    p.set_defaults(handler=cmd_restore)

    p = sub.add_parser("import", parents=[common], help="import a roster file into a new draft notice")
    p.add_argument("file")
    p.add_argument("--program", required=True, help="program id (see: list programs)")
    p.add_argument("--village", help="village id (see: list villages)")
    p.add_argument("--sheet", help="sheet name (default: the sheet with the table)")
    p.add_argument("--user", help="username of the preparer (default: the first active preparer)")
    p.add_argument("--dry-run", action="store_true", help="read and check only; store nothing")
    p.add_argument("--report", help="also write the validation report (.xlsx, bad cells highlighted)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("export", parents=[common], help="export a notice's roster to .xlsx")
    p.add_argument("notice_id")
    p.add_argument("--view", choices=["public", "internal", "payment"], default="public")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--user", help="username (internal and payment exports are audited)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("print", parents=[common], help="print a notice (or a program per village) to PDF")
    p.add_argument("notice_id", nargs="?")
    p.add_argument("-o", "--output", required=True, help="PDF file, or a folder with --per-village")
    p.add_argument("--paper", choices=["auto", "a4", "a3"], default="auto",
                   help="paper size (default: A4, or A3 when the columns need it)")
    orientation = p.add_mutually_exclusive_group()
    orientation.add_argument("--landscape", dest="landscape", action="store_const", const=True,
                             help="landscape (default: whichever the columns need)")
    orientation.add_argument("--portrait", dest="landscape", action="store_const", const=False)
    p.add_argument("--program", help="program id: one notice per village")
    p.add_argument("--per-village", action="store_true")
    p.set_defaults(handler=cmd_print)

    p = sub.add_parser("print-board", parents=[common], help="one-page summary of what is posted on a board")
    p.add_argument("board_id")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(handler=cmd_print_board)

    p = sub.add_parser("print-slip", parents=[common], help="objection slip (异议登记表) for a notice")
    p.add_argument("notice_id")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(handler=cmd_print_slip)

    p = sub.add_parser("enroll", parents=[common], help="register this workstation with the county server")
    p.add_argument("--server", required=True, help="county server URL")
    p.add_argument("--code", required=True, help="one-time enrolment code from the county")
    p.add_argument("--name", help="workstation name shown to the county (default: host name)")
    p.set_defaults(handler=cmd_enroll)

    p = sub.add_parser("sync", parents=[common], help="sync once with the county server (for schedulers)")
    p.add_argument("--allow-deletes", action="store_true",
                   help="go ahead when the sync would delete many rows (otherwise it stops and says so)")
    p.set_defaults(handler=cmd_sync)

    p = sub.add_parser("bundle", parents=[common], help="USB bundles for offline sync")
    bundle_sub = p.add_subparsers(dest="action", required=True)
    b = bundle_sub.add_parser("export", parents=[common], help="write this workstation's changes to a file")
    b.add_argument("-o", "--output", required=True)
    b.add_argument("--allow-deletes", action="store_true",
                   help="go ahead when the bundle would delete many rows (otherwise it stops and says so)")
    b = bundle_sub.add_parser("import", parents=[common],
                              help="county (--db): apply a bundle and write the reply; workstation: apply a reply")
    b.add_argument("file")
    b.add_argument("--db", help="the county server's database: import on the county side")
    b.add_argument("-o", "--output", help="reply file (county side; default: FILE.reply.gkb)")
    b.add_argument("--bundle-key", help=_BUNDLE_KEY_HELP)
    p.set_defaults(handler=cmd_bundle)

    p = sub.add_parser("serve", parents=[common], help="run the county server")
    p.add_argument("--db", help="postgresql://… or sqlite:///… (default: county.sqlite3 in the data folder)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL only)")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                   help="the reverse proxy's address (repeatable): only from it is X-Forwarded-For believed "
                        "as the client's address, which the public pages' limits count by; default: none")
    p.add_argument("--https-only", action="store_true",
                   help="behind a TLS reverse proxy: the administrator's cookie is sent over HTTPS only")
    p.add_argument("--page-cache", type=int, default=256, metavar="NOTICES",
                   help="how many notices' public pages each worker keeps rendered (0: render every request)")
    p.add_argument("--bundle-key", help=_BUNDLE_KEY_HELP)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("county", parents=[common], help="county server administration")
    county_sub = p.add_subparsers(dest="action", required=True)
    c = county_sub.add_parser("init", parents=[common])
    c.add_argument("--county-code", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--public-url", required=True)
    c = county_sub.add_parser("add-township", parents=[common])
    c.add_argument("--code", required=True)
    c.add_argument("--name", required=True)
    c = county_sub.add_parser("enroll-code", parents=[common])
    c.add_argument("--township", required=True, help="township division code")
    c.add_argument("--hours", type=int, default=72)
    c = county_sub.add_parser("create-admin", parents=[common])
    c.add_argument("--username", required=True)
    c = county_sub.add_parser("import-divisions", parents=[common],
                              help="create or update the county's townships and villages from a .csv/.xlsx of "
                                   "12-digit division codes (统计用区划代码, 名称[, 城乡分类代码])")
    c.add_argument("file")
    c.add_argument("--json", action="store_true", help="print the counts (and refused rows) as JSON")
    c = county_sub.add_parser("backup", parents=[common], help="copy the county's SQLite database to a file")
    c.add_argument("--to", required=True)
    c = county_sub.add_parser("restore", parents=[common],
                              help="restore from a backup (server stopped); starts a new epoch")
    c.add_argument("--from", dest="source",
                   help="SQLite backup file; omit after restoring PostgreSQL with pg_restore")
    for c in county_sub.choices.values():
        c.add_argument("--db", help="postgresql://… or sqlite:///…")
        c.add_argument("--bundle-key", help=_BUNDLE_KEY_HELP)
    p.set_defaults(handler=cmd_county)

    parser.set_defaults(handler=cmd_ui)
    return parser


def os_error_text(err: OSError) -> str:
    """One line naming the file and what is wrong with it, e.g. for a bad --data-dir or -o."""
    reason = err.strerror or type(err).__name__
    names = [str(n) for n in (err.filename, err.filename2) if n]
    return f"{reason}: {' → '.join(names)}" if names else reason


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # peewee's debug log carries query parameters (ID numbers, accounts): never let it through
    logging.getLogger("peewee").setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except AppError as err:
        print(f"error: {err}", file=sys.stderr)
        if args.verbose and err.details:
            print(f"details: {err.details}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {os_error_text(err)}", file=sys.stderr)
        return 1
    except Exception as err:  # a bug: still one line, and the details only on request, scrubbed
        print(f"error: unexpected {type(err).__name__} (run again with -v for details)", file=sys.stderr)
        if args.verbose:
            import traceback

            from app.maintenance import scrub

            print(scrub("".join(traceback.format_exception(err))), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
