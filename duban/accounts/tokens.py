"""API keys for other systems. Keys are random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from duban.accounts.models import ApiClient
from duban.audit.services import audit_record, snapshot
from duban.core.sql import key_column, run
from duban.core.stamps import from_columns as stamps_from_columns
from duban.core.stamps import subqueries as stamp_columns


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def api_client_create(
    *, name: str, scope: str, actor, department=None, raw_key: str | None = None
) -> tuple[ApiClient, str]:
    """Create a client and return it with its key (the only time the key is seen)."""
    raw = raw_key or secrets.token_urlsafe(32)
    with transaction.atomic():
        client = ApiClient.objects.create(
            name=name,
            scope=scope,
            department=department,
            key_hash=key_hash(raw),
            key_prefix=raw[:8],
        )
        audit_record(
            actor=actor,
            action="api_client.create",
            instance=client,
            after=snapshot(client, exclude=("key_hash",)),
        )
    return client, raw


_client_select: dict[tuple[str, tuple[str, ...], str | None], tuple] = {}


def api_client_for_key(
    raw: str | None, *, scope: str, stamps: tuple[str, ...] = (), reserve: type | None = None
) -> ApiClient | None:
    """The active client with this key and scope, or None; constant work whatever the key.
    Its department is read on access. Plain SQL, the statement made once per database: it
    runs on every API and Open311 intake, and the ORM's compilation of the query cost more
    than the query. With `stamps` (group names, duban.core.stamps), the same statement
    reads those stamps: they are set on the client as `client.stamps` (as
    stamps.read_many gives them), for an intake that would read them next. With `reserve`
    (a model), it also takes a key for a new row of it (core.sql.key_column): it is set as
    `client.reserved_key` (None where keys are not reserved), for sql.reserve_key."""
    if not raw or len(raw) > 200:
        return None
    db = connections[DEFAULT_DB_ALIAS]  # once (see core.sql, whose run() this uses)
    reserved = key_column(reserve) if reserve is not None else None
    prepared = _client_select.get((db.alias, stamps, reserved))
    if prepared is None:
        meta = ApiClient._meta
        quote = db.ops.quote_name
        columns = [f.get_col(meta.db_table) for f in meta.concrete_fields]
        extra, extra_params = stamp_columns(stamps, db.vendor)
        if reserved is not None:
            extra = [*extra, reserved]
        sql = (
            f"SELECT {', '.join([*(quote(c.target.column) for c in columns), *extra])} "
            f"FROM {quote(meta.db_table)} WHERE key_hash = %s AND scope = %s AND is_active"
        )
        converters = [
            (i, db.ops.get_db_converters(c) + c.get_db_converters(db), c)
            for i, c in enumerate(columns)
        ]
        names = [f.attname for f in meta.concrete_fields]
        prepared = (sql, extra_params, [x for x in converters if x[1]], names)
        _client_select[(db.alias, stamps, reserved)] = prepared
    sql, extra_params, converters, names = prepared
    row = run(sql, [*extra_params, key_hash(raw), str(scope)]).fetchone()
    if row is None:
        return None
    values = list(row[: len(names)])
    for i, functions, column in converters:
        for convert in functions:
            values[i] = convert(values[i], column, db)
    client = ApiClient.from_db(db.alias, names, values)
    extra = row[len(names) :]
    if reserve is not None:
        client.reserved_key = None
    if reserved is not None:
        client.reserved_key, extra = extra[-1], extra[:-1]
    if stamps:
        client.stamps = stamps_from_columns(extra)
    return client
