"""schemathesis against the server's own OpenAPI schema, on SQLite and on PostgreSQL, with and
without a valid workstation token: no generated request causes a 5xx.

Driven through hypothesis directly (schemathesis' own pytest plugin does not support this pytest).
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from app.context import Clock
from server.app import create_app
from tests.conftest import FIXED_NOW

from .test_sync_api import board, enroll, push


def test_no_generated_request_causes_a_server_error(county):
    client = TestClient(create_app(clock=Clock.fixed(FIXED_NOW)))
    device = enroll(client, "539901101000")
    # something to pull, to conflict with and to refer to
    assert push(client, device, [board(county["shimen"], "村委会公开栏", 1)]).status_code == 200
    headers = {"Authorization": f"Bearer {device['token']}", "X-Gongkai-Protocol": "1"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /api/v1/enroll", "POST /api/v1/sync/push",
                                                "GET /api/v1/sync/pull", "PUT /api/v1/blobs/{sha256}"}
    failures = []
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case):
            for extra in ({}, headers):
                response = case.call(headers=extra)
                if response.status_code >= 500:
                    failures.append((case.operation.label, response.status_code, response.text[:200]))

        exercise()
    assert failures == []
