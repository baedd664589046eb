"""Peewee models of the township workstation database (DESIGN §3, SYNC.md).

Every synced row carries a UUID text id, ``version`` (+1 per change), ``updated_at`` (UTC, display
only), a ``deleted`` tombstone and the township it belongs to (``None`` for county-owned rows).
Nothing outside the service layer writes synced tables: :func:`db.changes.save_change` bumps the
version and writes the outbox entry in the same transaction.

The schema itself is created by the numbered migrations in :mod:`db.migrations`; these classes
must match it, which a test checks.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BooleanField,
    DateField,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

from db.fields import DecimalText, JSONText

# One deferred database for the whole process, initialised by db.connection.open_database().
database = SqliteDatabase(None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SyncedModel(BaseModel):
    """Columns every synced entity shares."""

    id = TextField(primary_key=True)
    version = IntegerField(default=1)
    updated_at = TextField()
    deleted = BooleanField(default=False)
    township_id = TextField(null=True, index=True)

    #: the entity name used in the outbox and on the wire
    entity: str = ""


def _fk(model: type[Model] | str, **kwargs) -> ForeignKeyField:
    # Deferred so that a sync page may carry a child before its parent inside one transaction.
    return ForeignKeyField(model, deferrable="INITIALLY DEFERRED", **kwargs)


class Region(SyncedModel):
    """County (县), township (乡镇), village (行政村) or village group (村民小组)."""

    entity = "region"
    name = TextField()
    level = TextField()  # county | township | village | group
    code = TextField(null=True)  # 12-digit statistical division code where known
    parent = _fk("self", null=True, backref="children", on_delete="RESTRICT")
    sort_key = TextField(default="")


class NoticeType(SyncedModel):
    """One entry of the 公开事项标准目录 with its posting rules and roster schema."""

    entity = "notice_type"
    code = TextField(unique=True)
    name = TextField()
    category = TextField()  # subsidy | land | poverty_fund | village_affairs | other
    level1 = TextField(default="")  # 一级事项
    level2 = TextField(default="")  # 二级事项
    content_elements = JSONText(default=list)
    legal_basis = TextField(default="")
    time_limit = TextField(default="")
    publishing_body = TextField(default="")
    channels = JSONText(default=list)
    audience = TextField(default="")
    level = TextField(default="村")  # 县 | 乡 | 村
    min_days = IntegerField()
    day_unit = TextField()  # natural | working
    cadence = TextField(default="")  # monthly | quarterly | '' (event-driven)
    roster_schema = JSONText(default=list)
    title_template = TextField(default="")
    body_template = TextField(default="")
    objection_clause = TextField(default="")
    supervision_phone = TextField(default="")


class Program(SyncedModel):
    """A subsidy policy, land project or fund program (项目/补贴政策)."""

    entity = "program"
    name = TextField()
    category = TextField()
    year = IntegerField()
    unit = TextField(default="")  # 亩 | 人 | 户 | 项
    rate = DecimalText(null=True)  # yuan per unit, exact
    funding_source = TextField(default="")
    legal_basis = TextField(default="")
    notice_type = _fk(NoticeType, backref="programs", on_delete="RESTRICT")


class User(BaseModel):
    """A workstation account. Kept on the workstation: password hashes are never synced. It has
    the row columns of synced entities all the same (a removed account is a tombstone, so the
    audit log's references to it stay resolvable)."""

    id = TextField(primary_key=True)
    version = IntegerField(default=1)
    updated_at = TextField(default="")
    deleted = BooleanField(default=False)
    township_id = TextField(null=True, index=True)
    username = TextField(unique=True)
    display_name = TextField()
    role = TextField()  # preparer | reviewer | admin
    password_hash = TextField()
    active = BooleanField(default=True)
    created_at = TextField()


class Notice(SyncedModel):
    """A disclosure notice (公示/公告). Only drafts are editable."""

    entity = "notice"
    notice_type = _fk(NoticeType, backref="notices", on_delete="RESTRICT")
    program = _fk(Program, null=True, backref="notices", on_delete="RESTRICT")
    # the owning township is the inherited ``township_id``
    village = _fk(Region, null=True, backref="village_notices", on_delete="RESTRICT")
    title = TextField()
    doc_number = TextField(default="")
    salutation = TextField(default="")
    body = TextField(default="")
    legal_basis = TextField(default="")
    issuer = TextField(default="")
    contact_person = TextField(default="")
    contact_phone = TextField(default="")
    supervision_phone = TextField(default="")
    status = TextField(default="draft")
    edition = IntegerField(default=1)
    supersedes = _fk("self", null=True, backref="corrections", on_delete="RESTRICT")
    posting_start = DateField(null=True)
    posting_end = DateField(null=True)
    posting_days = IntegerField(null=True)
    posting_unit = TextField(null=True)
    posting_explanation = JSONText(default=list)
    public_snapshot = TextField(null=True)  # canonical JSON of the public view, frozen at publish
    fingerprint = TextField(null=True)  # SHA-256 of public_snapshot
    content_digest = TextField(null=True)  # SHA-256 of the full internal content, fixed at publish
    created_by = TextField()
    submitted_by = TextField(null=True)
    approved_by = TextField(null=True)
    published_by = TextField(null=True)
    published_at = TextField(null=True)
    return_comment = TextField(default="")
    withdraw_reason = TextField(default="")
    closed_at = TextField(null=True)
    funds_released = BooleanField(default=False)
    # the workstation (county device id) that takes it through its lifecycle; None: not claimed yet
    owner_device = TextField(null=True)


class RosterRow(SyncedModel):
    """One line of the internal roster (清册). Holds personal data: never printed as it is."""

    entity = "roster_row"
    notice = _fk(Notice, backref="rows", on_delete="CASCADE")
    seq = IntegerField()
    name = TextField(default="")
    id_number = TextField(default="", index=True)
    group_name = TextField(default="")
    quantity = DecimalText(null=True)
    rate = DecimalText(null=True)
    amount_fen = IntegerField(null=True)
    bank_account = TextField(default="")
    phone = TextField(default="")
    remark = TextField(default="")
    extra = JSONText(default=dict)
    issues = JSONText(default=list)  # validation results: [{column, code, message, severity}]

    class Meta:
        indexes = ((("notice", "seq"), False),)


class SignOff(SyncedModel):
    """A recorded signature: village review (村两委 / 村务监督委员会) or township approval."""

    entity = "sign_off"
    notice = _fk(Notice, backref="sign_offs", on_delete="CASCADE")
    kind = TextField()  # village_review | township_approval
    body = TextField()  # e.g. 村务监督委员会
    names = JSONText(default=list)
    signed_on = DateField()
    recorded_by = TextField()


class Board(SyncedModel):
    """A physical disclosure board (公开栏) at a village or at the township."""

    entity = "board"
    name = TextField()
    village = _fk(Region, null=True, backref="boards", on_delete="RESTRICT")
    location = TextField(default="")


class Posting(SyncedModel):
    """Which notice edition is posted on which board, when and by whom (张贴记录)."""

    entity = "posting"
    board = _fk(Board, backref="postings", on_delete="RESTRICT")
    notice = _fk(Notice, backref="postings", on_delete="RESTRICT")
    posted_on = DateField()
    posted_by = TextField()
    taken_down_on = DateField(null=True)
    note = TextField(default="")


class EvidenceFile(SyncedModel):
    """A photo of a posting, stored content-addressed by SHA-256."""

    entity = "evidence_file"
    posting = _fk(Posting, backref="evidence", on_delete="RESTRICT")
    sha256 = TextField(index=True)
    filename = TextField()
    size = IntegerField()
    media_type = TextField(default="")
    added_by = TextField()
    added_at = TextField()


class Objection(SyncedModel):
    """An objection (异议) raised during the posting period."""

    entity = "objection"
    notice = _fk(Notice, backref="objections", on_delete="RESTRICT")
    roster_row = _fk(RosterRow, null=True, backref="objections", on_delete="SET NULL")
    number = TextField(default="")
    origin = TextField(default="township")  # township | portal
    channel = TextField()  # portal | phone | visit | letter
    received_at = TextField()
    contact = TextField(default="")  # minimised: a name or masked phone, never an ID number
    content = TextField()
    due_date = DateField()
    status = TextField(default="open")  # open | investigating | answered
    recorded_by = TextField(null=True)


class ObjectionAnswer(SyncedModel):
    """An answer to an objection. Answers are appended, never edited in place."""

    entity = "objection_answer"
    objection = _fk(Objection, backref="answers", on_delete="RESTRICT")
    text = TextField()
    answered_by = TextField()
    answered_at = TextField()
    led_to_correction = BooleanField(default=False)


class HolidayOverride(SyncedModel):
    """A county-distributed holiday or make-up working day (节假日安排)."""

    entity = "holiday_override"
    day = DateField(unique=True)
    is_workday = BooleanField()
    name = TextField(default="")


class CountySetting(SyncedModel):
    """County-owned settings (public URL, masking pattern, objection answer days …)."""

    entity = "county_setting"
    key = TextField(unique=True)
    value = JSONText(null=True)


class AuditEvent(SyncedModel):
    """Append-only, hash-chained record of every state change."""

    entity = "audit_event"
    workstation_id = TextField(default="")  # each workstation keeps its own chain
    seq = IntegerField()
    at = TextField()
    user_id = TextField(null=True)
    username = TextField(default="")
    action = TextField()
    object_entity = TextField(default="")
    object_id = TextField(default="")
    summary = JSONText(default=dict)
    prev_hash = TextField()
    hash = TextField()

    class Meta:
        indexes = ((("workstation_id", "seq"), True),)


class LocalSetting(BaseModel):
    """Workstation settings: which township this is, language, font file …"""

    key = TextField(primary_key=True)
    value = JSONText(null=True)


class Outbox(BaseModel):
    """Transactional outbox: one entry per change, written with the change (SYNC.md)."""

    seq = AutoField()
    entity = TextField()
    entity_id = TextField()
    version = IntegerField()
    base_version = IntegerField(null=True)
    payload = JSONText()
    created_at = TextField()
    fields = JSONText(null=True)  # the columns this change touched; None: the whole row


class SyncState(BaseModel):
    """The workstation's sync identity and checkpoint (one row)."""

    id = IntegerField(primary_key=True, default=1)
    device_id = TextField()
    token = TextField(null=True)
    server_url = TextField(null=True)
    last_pulled_seq = IntegerField(default=0)
    server_epoch = TextField(null=True)
    last_success_at = TextField(null=True)
    last_error = TextField(null=True)
    last_error_at = TextField(null=True)


class SyncProblem(BaseModel):
    """A change the county rejected, or a conflict between this workstation and the county."""

    id = AutoField()
    kind = TextField()  # rejected | conflict
    entity = TextField()
    entity_id = TextField(index=True)
    local_version = IntegerField(null=True)
    server_version = IntegerField(null=True)
    local_data = JSONText(null=True)
    server_data = JSONText(null=True)
    reason = TextField()
    created_at = TextField()
    resolved_at = TextField(null=True)
    resolution = TextField(null=True)  # keep_mine | take_theirs | dropped
    local_fields = JSONText(null=True)  # columns this workstation had changed; None: the whole row


class Workstation(SyncedModel):
    """A workstation of this township as the county knows it (the county's device directory, pulled
    like any other row; never written here): names a notice's owner."""

    entity = "workstation"
    name = TextField()
    revoked = BooleanField(default=False)


class PageTakedown(SyncedModel):
    """The county took the public page of a notice down (its record, pulled like any other row;
    never written here): the QR code then shows only the reason. ``active`` false: put back."""

    entity = "page_takedown"
    notice_id = TextField()
    active = BooleanField(default=True)
    reason = TextField(default="")
    taken_down_at = TextField()
    put_back_at = TextField(null=True)


SYNCED_MODELS: tuple[type[SyncedModel], ...] = (
    Region,
    NoticeType,
    Program,
    Notice,
    RosterRow,
    SignOff,
    Board,
    Posting,
    EvidenceFile,
    Objection,
    ObjectionAnswer,
    HolidayOverride,
    CountySetting,
    AuditEvent,
    Workstation,
    PageTakedown,
)

ALL_MODELS: tuple[type[BaseModel], ...] = (
    *SYNCED_MODELS[:3],
    User,
    *SYNCED_MODELS[3:],
    LocalSetting,
    Outbox,
    SyncState,
    SyncProblem,
)

ENTITY_MODELS: dict[str, type[SyncedModel]] = {m.entity: m for m in SYNCED_MODELS}
