"""The intake's cheaper audit append (plain SQL, one round trip on PostgreSQL) keeps the
chain exactly as the ORM wrote it, and an intake is audited in its own transaction."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from duban.audit.models import AuditEntry, AuditHead
from duban.audit.services import audit_record, audit_verify
from duban.cases import rollup, services
from duban.cases.models import Case

pytestmark = pytest.mark.django_db


def test_appended_entry_is_stored_as_returned():
    first = audit_record(actor="x", action="t.one", entity="t", entity_id=1, after={"a": "é"})
    second = audit_record(actor="x", action="t.two", entity="t", entity_id=2, before={"a": 1})
    assert first.pk and second.pk and second.seq == first.seq + 1
    stored = AuditEntry.objects.get(pk=second.pk)
    assert (stored.seq, stored.hash, stored.prev_hash) == (second.seq, second.hash, first.hash)
    assert stored.content_hash() == stored.hash
    assert stored.after is None and stored.before == {"a": 1}
    head = AuditHead.objects.get()
    assert (head.seq, head.hash) == (second.seq, second.hash)
    assert audit_verify().ok


def test_an_intake_that_fails_at_the_audit_leaves_nothing(friday, make_case, monkeypatch):
    make_case()
    before = (Case.objects.count(), AuditEntry.objects.count(), rollup.stored())

    def broken(entry):
        raise IntegrityError("disk full")

    monkeypatch.setattr("duban.audit.services._append", broken)
    with pytest.raises(IntegrityError):
        make_case()
    assert (Case.objects.count(), AuditEntry.objects.count(), rollup.stored()) == before
    monkeypatch.undo()
    make_case()
    assert audit_verify().ok
    assert rollup.check() == []


def test_every_intake_is_one_audit_entry(friday, make_case):
    cases = [make_case().case for _ in range(3)]
    entries = AuditEntry.objects.filter(action="case.create").order_by("seq")
    assert [e.entity_id for e in entries] == [str(c.pk) for c in cases]
    assert services.category_for_code("noise").attributes.count() == 2
