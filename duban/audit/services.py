"""Appending to and checking the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable

from django.db import connection, models, transaction

from duban import clock
from duban.audit.models import GENESIS, AuditEntry, AuditHead
from duban.core import sql
from duban.core.sql import insert_row

_PLAIN = frozenset({str, int, bool, float, type(None)})


def _json_safe(value):
    if type(value) in _PLAIN:  # most values: checked first (every audited write)
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(v) for v in value]
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
        return value.name or None
    return value


def snapshot(instance: models.Model, *, exclude: Iterable[str] = ("password",)) -> dict:
    """The concrete field values of a model instance, JSON-safe."""
    skip = set(exclude)
    plain = _PLAIN
    data = {}
    for field in instance._meta.concrete_fields:
        if field.name in skip:
            continue
        value = getattr(instance, field.attname)
        data[field.attname] = value if type(value) in plain else _json_safe(value)
    return data


_HEAD = AuditHead._meta.db_table


def _lock_head() -> tuple[int, str]:
    """Lock the chain's head row (held to the end of the transaction) and read it. Plain
    SQL: this runs in every audited write, and the lock should be held as briefly as the
    rest of the transaction allows (callers append last). In a `sql.batch()` the writes
    waiting before it go in the same round trip."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    rows = sql.query(f"SELECT seq, hash FROM {_HEAD} WHERE id = 1{lock}", [])
    if not rows:  # the very first entry
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        return head.seq, head.hash
    return rows[0][0], rows[0][1]


def audit_record(
    *,
    actor,
    action: str,
    instance: models.Model | None = None,
    entity: str | None = None,
    entity_id: str | int | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Append one entry. Call it inside the transaction that makes the change, so that the
    change and its record commit or roll back together. Inside a `sql.batch()` the entry's
    key is set when the batch sends it."""
    if instance is not None:
        entity = entity or instance._meta.label_lower
        entity_id = instance.pk if entity_id is None else entity_id
    if not entity:
        raise ValueError("audit_record needs an instance or an entity name")
    actor_id = getattr(actor, "pk", None)
    actor_label = getattr(actor, "get_username", None)
    actor_label = actor_label() if callable(actor_label) else (str(actor) if actor else "system")
    before = _json_safe(before) if before is not None else None
    after = _json_safe(after) if after is not None else None
    # No savepoint: a failed append fails the caller's transaction, change and all.
    with transaction.atomic(savepoint=False):
        seq, prev_hash = _lock_head()
        entry = AuditEntry(
            seq=seq + 1,
            at=clock.wall_now().replace(microsecond=0),
            actor_id=actor_id,
            actor=actor_label,
            action=action,
            entity=entity,
            entity_id=str(entity_id if entity_id is not None else ""),
            before=before,
            after=after,
            prev_hash=prev_hash,
        )
        entry.hash = entry.content_hash()
        _append(entry)
    return entry


def _append(entry: AuditEntry) -> None:
    """INSERT the entry and move the head to it, under the head's lock: plain SQL (this
    runs in every audited write); inside a `sql.batch()` both wait for the batch's next
    round trip."""
    if not insert_row(entry, defer=True):
        entry.save(force_insert=True)
    sql.execute(f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE id = 1", [entry.seq, entry.hash])


@dataclasses.dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def audit_verify(*, chunk_size: int = 2000) -> VerifyResult:
    """Walk the chain in order; report the first row whose hash or link does not hold."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if entry.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                entry.seq,
                f"expected row {expected_seq}, found {entry.seq} (a row is missing)",
            )
        if entry.prev_hash != expected_prev:
            return VerifyResult(
                False, checked, entry.seq, "its link to the previous row does not match"
            )
        if entry.content_hash() != entry.hash:
            return VerifyResult(
                False,
                checked,
                entry.seq,
                "its content does not match its hash (changed after it was written)",
            )
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
        checked += 1
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and head.seq != checked:
        return VerifyResult(
            False,
            checked,
            checked + 1 if head.seq > checked else head.seq,
            f"the chain head says {head.seq} rows, found {checked} (rows at the end were removed)",
        )
    return VerifyResult(True, checked)
