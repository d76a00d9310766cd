from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from duban.accounts.models import Department
from duban.audit.models import AppendOnlyError, AuditEntry, compute_hash, payload_before_link
from duban.audit.services import audit_record, audit_verify, snapshot


@pytest.fixture
def chain(planner, dept):
    for index in range(5):
        before = snapshot(dept)
        dept.name = f"城市管理局{index}"
        dept.save()
        audit_record(
            actor=planner,
            action="department.rename",
            instance=dept,
            before=before,
            after=snapshot(dept),
        )
    return list(AuditEntry.objects.order_by("seq"))


def test_entries_form_a_chain_that_verifies(chain):
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert all(
        later.prev_hash == earlier.hash for earlier, later in zip(chain, chain[1:], strict=False)
    )
    assert chain[2].before["name"] == "城市管理局1" and chain[2].after["name"] == "城市管理局2"
    assert chain[0].actor == "planner"
    result = audit_verify()
    assert result.ok and result.checked == 5


def test_the_application_cannot_update_or_delete_entries(chain):
    entry = chain[0]
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(seq=1).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def _tamper(sql: str, params):
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), params)


def test_verify_finds_a_row_changed_behind_the_applications_back(chain):
    _tamper("UPDATE {table} SET actor = %s WHERE seq = %s", ["mallory", 3])
    result = audit_verify()
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.checked == 2
    with pytest.raises(CommandError, match="broken at row 3"):
        call_command("audit", "verify")


def test_verify_finds_a_row_removed_from_the_middle(chain):
    _tamper("DELETE FROM {table} WHERE seq = %s", [2])
    result = audit_verify()
    assert not result.ok and result.first_broken_seq == 3


def test_verify_finds_rows_removed_from_the_end(chain):
    _tamper("DELETE FROM {table} WHERE seq >= %s", [4])
    result = audit_verify()
    assert not result.ok and result.first_broken_seq == 4


def test_verify_command_reports_an_intact_chain(chain, capsys):
    call_command("audit", "verify")
    assert "intact: 5 rows" in capsys.readouterr().out


def test_admin_edits_are_audited(admin_user, client):
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/department/add/", {"name": "商务局", "code": "shangwu"}, follow=True
    )
    assert response.status_code == 200
    department = Department.objects.get(code="shangwu")
    entry = AuditEntry.objects.get(entity="accounts.department", entity_id=str(department.pk))
    assert entry.action == "admin.add" and entry.after["name"] == "商务局"
    assert entry.actor == "root"


def test_audit_page_is_for_admins_only(admin_user, planner, outsider, client, chain):
    client.force_login(admin_user)
    response = client.get("/audit/")
    assert response.status_code == 200
    assert "department.rename" in response.content.decode()
    for refused in (planner, outsider):
        client.force_login(refused)
        assert client.get("/audit/").status_code == 403
    client.force_login(admin_user)
    assert client.get("/audit/?before=abc").status_code == 400


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    content=st.fixed_dictionaries(
        {
            "at": st.text(),
            "actor_id": st.none() | st.integers(),
            "actor": st.text(),
            "action": st.text(),
            "entity": st.text(),
            "entity_id": st.text(),
            "before": _json,
            "after": _json,
        }
    ),
    prev_hash=st.text("0123456789abcdef", min_size=64, max_size=64),
    seq=st.integers(min_value=1, max_value=2**62),
)
def test_the_payload_before_the_link_is_what_compute_hash_hashes(content, prev_hash, seq):
    """The text the database completes on PostgreSQL (audit.services._append_waiting: the
    payload, the head's hash, `","seq":`, the seq, `}`) hashes to what compute_hash gives for
    the same entry. The database's side of it: tests/cases/test_sql_batch.py."""
    text = payload_before_link(**content) + prev_hash + '","seq":' + str(seq) + "}"
    expected = compute_hash(prev_hash=prev_hash, seq=seq, **content)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == expected


def test_the_payload_before_the_link_refuses_keys_that_sort_after_it():
    with pytest.raises(ValueError):
        payload_before_link(action="x", seq=1)
    with pytest.raises(ValueError):
        payload_before_link(action="x", reason="sorts after prev_hash")
