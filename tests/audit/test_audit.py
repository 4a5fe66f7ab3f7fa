"""Audit events are append-only (ASVS v5 16.4.2) and carry who, what, target, result, time, IP and
request id (ASVS v5 16.3.1-16.3.3, 16.2.1)."""
import json
import logging

import pytest
from django.db import DatabaseError, connection, transaction

from schoolid.audit.models import AppendOnlyError, AuditEvent
from schoolid.audit.services import record_event
from schoolid.core.logging import JsonFormatter, RequestIdFilter
from schoolid.core.requestid import reset_request_id, set_request_id

pytestmark = pytest.mark.django_db


def test_event_has_every_field(rf):
    token = set_request_id("req-1234abcd")
    try:
        request = rf.get("/", REMOTE_ADDR="192.0.2.7")
        event = record_event("test.action", "success", actor="ACTOR1", target="TARGET1", request=request, detail={"k": "v"})
    finally:
        reset_request_id(token)
    event.refresh_from_db()
    assert (event.action, event.result, event.actor, event.target) == ("test.action", "success", "ACTOR1", "TARGET1")
    assert event.ip == "192.0.2.7" and event.request_id == "req-1234abcd" and event.at is not None
    assert event.detail == {"k": "v"}


def test_secrets_never_reach_the_audit_detail():
    """ASVS v5 16.2.5."""
    event = record_event("x", "success", detail={"password": "hunter2-canary", "code": "123456", "ok": 1})
    assert event.detail == {"password": "[redacted]", "code": "[redacted]", "ok": 1}


def test_model_layer_refuses_update_and_delete():
    event = record_event("x", "success")
    event.result = "failure"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(result="failure")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_database_refuses_update_even_in_raw_sql():
    event = record_event("x", "success")
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET result = 'failure' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.result == "success"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row DELETE triggers are installed on PostgreSQL")
def test_database_refuses_delete_in_raw_sql():
    event = record_event("x", "success")
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_log_lines_are_json_with_the_request_id_and_escape_injection():
    """ASVS v5 16.4.1: a username with CR LF cannot forge a second log line."""
    record = logging.LogRecord("schoolid.test", logging.INFO, __file__, 1, "user %s failed", ("bob\r\n{\"fake\": 1}",), None)
    token = set_request_id("req-log-0001")
    try:
        RequestIdFilter().filter(record)
        line = JsonFormatter().format(record)
    finally:
        reset_request_id(token)
    assert "\n" not in line and "\r" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "req-log-0001" and entry["message"].startswith("user bob\r\n")


def test_every_response_carries_a_request_id_that_the_audit_uses(client):
    response = client.post("/signin/", {"identifier": "nobody", "password": "x"})
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert AuditEvent.objects.get(action="signin.password").request_id == request_id
