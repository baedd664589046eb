"""Accounts and the hash-chained audit log."""

from __future__ import annotations

import pytest

from app.audit import verify_chain
from app.errors import PermissionDenied, ValidationError
from app.users import UserService, check_password, hash_password
from db.models import AuditEvent, User

from .world import PASSWORD, make_world


def test_passwords_are_stored_as_scrypt_hashes(ctx):
    make_world(ctx)
    for u in User.select():
        assert u.password_hash.startswith("scrypt$") and PASSWORD not in u.password_hash
    assert check_password("secret pass", hash_password("secret pass"))
    assert not check_password("secret pas", hash_password("secret pass"))


def test_sign_in(ctx):
    make_world(ctx)
    users = UserService(ctx)
    assert users.authenticate("clerk", PASSWORD).role == "preparer"
    with pytest.raises(PermissionDenied):
        users.authenticate("clerk", "wrong password")
    with pytest.raises(PermissionDenied):
        users.authenticate("nobody", PASSWORD)


def test_account_rules(ctx):
    users = UserService(ctx)
    with pytest.raises(ValidationError):
        users.create("a", "甲", "preparer", "short")
    with pytest.raises(ValidationError):
        users.create("a", "甲", "boss", "long enough")
    users.create("a", "甲", "preparer", "long enough")
    with pytest.raises(ValidationError):
        users.create("a", "乙", "reviewer", "long enough")


def test_audit_chain_links_every_event_and_names_the_actor(ctx):
    w = make_world(ctx)
    w.published()
    report = verify_chain()
    assert report.ok and report.events == AuditEvent.select().count() > 5
    publish = AuditEvent.get(AuditEvent.action == "notice.publish")
    assert publish.username == "clerk" and publish.summary["to"] == "published"
    events = list(AuditEvent.select().order_by(AuditEvent.seq))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
