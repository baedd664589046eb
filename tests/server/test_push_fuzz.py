"""Hostile push bodies, field by field (hypothesis), on SQLite and PostgreSQL: wrong types, huge
integers, NUL characters, deep nesting and unknown keys in any field of any township entity are
refused per change (``malformed``) — never a server error — and nothing refused is written."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.models import ENTITY_MODELS
from server.models import SyncRow
from sync.protocol import TOWNSHIP_ENTITIES

from .test_sync_api import enroll, push

_ENTITIES = sorted(TOWNSHIP_ENTITIES)
_NESTED = st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda inner: st.lists(inner, max_size=2)
                       | st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=8)
_HOSTILE = st.one_of(
    st.text(max_size=20), st.text(alphabet="\x00ab", min_size=1, max_size=5), st.integers(),
    st.integers(min_value=2**31), st.integers(max_value=-(2**63)), st.floats(allow_nan=True), st.booleans(),
    st.none(), st.lists(st.integers(), max_size=3), _NESTED, st.just("2026-13-45"), st.just("1e400"),
    st.just("abc"), st.just(10**30),
)


def _deep(levels: int):
    value: object = "底"
    for _ in range(levels):
        value = [value]
    return value


@st.composite
def _change(draw, township_id: str):
    entity = draw(st.sampled_from(_ENTITIES))
    columns = [f.column_name for f in ENTITY_MODELS[entity]._meta.sorted_fields
               if f.column_name not in ("id", "township_id")]
    rid = str(uuid.uuid4())
    data = {"id": rid, "township_id": township_id}
    for column in draw(st.lists(st.sampled_from(columns), min_size=1, max_size=4, unique=True)):
        data[column] = draw(_HOSTILE)
    if draw(st.booleans()):
        data[draw(st.text(min_size=1, max_size=8))] = draw(_HOSTILE)  # a key no model has
    if draw(st.integers(0, 9)) == 0:
        data[draw(st.sampled_from(columns))] = _deep(draw(st.integers(50, 400)))
    version = draw(st.one_of(st.integers(1, 3), st.integers(2**31, 2**64), st.just("1")))
    return {"entity": entity, "id": rid, "version": version, "base_version": None, "data": data}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_field_values_are_refused_per_change_never_a_server_error(client, county, data):
    device = enroll(client, "539901101000")
    changes = data.draw(st.lists(_change(county["shimen"]), min_size=1, max_size=4))
    r = push(client, device, changes)
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        result = r.json()
        refused = {x["id"] for x in result["rejected"]}
        for change in changes:
            stored = SyncRow.get_or_none(SyncRow.id == change["id"])
            if change["id"] in refused:
                assert stored is None
            else:  # what was taken is stored exactly as sent, and reads back as JSON
                assert stored is not None and json.loads(stored.data) == change["data"]


def test_a_body_nested_a_hundred_thousand_deep_is_a_clear_400(client, county):
    import gzip

    from .test_sync_api import auth

    device = enroll(client, "539901101000")
    body = '{"protocol": 1, "batch_id": "deep", "changes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = client.post("/api/v1/sync/push", content=gzip.compress(body.encode()),
                    headers=auth(device) | {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 400 and "nested too deeply" in r.json()["error"]


@pytest.mark.parametrize("where", ["name", "id", "entity", "extra"])
def test_a_lone_surrogate_anywhere_is_refused_as_malformed_not_a_server_error(client, county, where):
    """JSON's \\ud800 escape decodes to a lone surrogate, which no UTF-8 column can store: the change
    is refused, nothing is written, and the answer itself is valid UTF-8."""
    import gzip

    from .test_sync_api import auth, board

    device = enroll(client, "539901101000")
    change = board(county["shimen"], "公开栏")
    if where == "name":
        change["data"]["name"] = "公开栏\ud800"
    elif where == "id":
        change["id"] = change["data"]["id"] = "row-\ud800"
    elif where == "entity":
        change["entity"] = "board\udfff"
    else:
        change["entity"], change["data"] = "roster_row", {"id": change["id"], "township_id": county["shimen"],
                                                         "extra": {"\ud801": 1}}
    body = json.dumps({"protocol": 1, "device_id": device["device_id"], "batch_id": "surrogate-01",
                       "changes": [change]}).encode()
    assert b"\\ud8" in body or b"\\udf" in body
    r = client.post("/api/v1/sync/push", content=gzip.compress(body),
                    headers=auth(device) | {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == [] and len(r.json()["rejected"]) == 1
    assert SyncRow.select().where(SyncRow.entity == "board").count() == 0
