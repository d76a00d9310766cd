"""Appending to and checking the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from duban import clock
from duban.audit.models import GENESIS, AuditEntry, AuditHead, payload_before_link
from duban.core import sql
from duban.core.sql import build, insert_row

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
    rest of the transaction allows (callers append last)."""
    db = connections[DEFAULT_DB_ALIAS]  # once (see core.sql)
    lock = " FOR UPDATE" if db.features.has_select_for_update else ""
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
    change and its record commit or roll back together. Inside a `sql.batch()` (on
    PostgreSQL) the entry's key, seq and hashes are set when the batch sends it."""
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
    entry = build(
        AuditEntry,
        at=clock.wall_now().replace(microsecond=0),
        actor_id=actor_id,
        actor=actor_label,
        action=action,
        entity=entity,
        entity_id=str(entity_id if entity_id is not None else ""),
        before=before,
        after=after,
    )
    # No savepoint: a failed append fails the caller's transaction, change and all.
    with transaction.atomic(savepoint=False):
        _append(entry)
    return entry


def _append(entry: AuditEntry) -> None:
    """Link the entry to the chain's head, INSERT it and move the head to it, under the
    head's lock: plain SQL (this runs in every audited write). Inside a `sql.batch()` the
    database links it (_append_waiting)."""
    if sql.batching():
        _append_waiting(entry)
        return
    seq, entry.prev_hash = _lock_head()
    entry.seq = seq + 1
    entry.hash = entry.content_hash()
    if not insert_row(entry):
        entry.save(force_insert=True)
    sql.execute(f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE id = 1", [entry.seq, entry.hash])


_WAITING: dict[str, tuple[str, str, str, str, list]] = {}


def _append_waiting(entry: AuditEntry) -> None:
    """The append as statements that wait in the batch (PostgreSQL). The database links
    the entry itself: it makes the head if there is none and locks it, and the entry's
    INSERT reads it and computes the hash — sha256 of payload_before_link (made here), the
    head's hash, `","seq":`, the next seq and `}`, the text compute_hash hashes. Every
    intake takes the head's lock; this way it is taken in the batch's last round trip,
    with the COMMIT, and held only while the database runs the rest of it, instead of
    across a round trip and the hash made in Python."""
    db = connections[DEFAULT_DB_ALIAS]  # once (see core.sql)
    statements = _WAITING.get(db.alias)
    if statements is None:
        quote = db.ops.quote_name
        table = quote(AuditEntry._meta.db_table)
        names = ["at", "actor_id", "actor", "action", "entity", "entity_id", "before", "after"]
        fields = [AuditEntry._meta.get_field(name) for name in names]
        link = (
            "encode(sha256(convert_to(%s || h.hash || '\",\"seq\":' || (h.seq + 1) || '}', "
            "'UTF8')), 'hex')"
        )
        statements = _WAITING[db.alias] = (
            f"INSERT INTO {_HEAD} (id, seq, hash) VALUES (1, 0, %s) ON CONFLICT (id) DO NOTHING",
            f"SELECT 1 FROM {_HEAD} WHERE id = 1 FOR UPDATE",
            f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}, "
            f"{quote('seq')}, {quote('prev_hash')}, {quote('hash')}) "
            f"SELECT {', '.join(['%s'] * len(fields))}, h.seq + 1, h.hash, {link} "
            f"FROM {_HEAD} h WHERE h.id = 1 RETURNING id, seq, prev_hash, hash",
            f"UPDATE {_HEAD} SET seq = seq + 1, hash = (SELECT e.hash FROM {table} e "
            f"WHERE e.seq = {_HEAD}.seq + 1) WHERE id = 1",
            fields,
        )
    make_head, lock, insert, move, fields = statements
    values = [f.get_db_prep_save(getattr(entry, f.attname), db) for f in fields]

    def linked(row) -> None:
        entry.pk, entry.seq, entry.prev_hash, entry.hash = row
        entry._state.adding = False
        entry._state.db = db.alias

    sql.execute(make_head, [GENESIS])
    sql.execute(lock, [])
    sql.execute(insert, [*values, payload_before_link(**entry.content())], then=linked)
    sql.execute(move, [])


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
