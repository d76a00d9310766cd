"""API keys for other systems. Keys are random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from duban.accounts.models import ApiClient
from duban.audit.services import audit_record, snapshot
from duban.core.sql import can_batch, execute, run
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


class ApiClientChanged(Exception):
    """The client given from this process's memory (api_client_for_key(cached=True)) was
    not as remembered when its write ran — deactivated, its key, scope or name changed, or
    the stamps read with it moved — and the write was rolled back. Look the key up again
    (it is forgotten) and write again."""


_client_select: dict[tuple[str, tuple[str, ...]], tuple] = {}
# Clients found by intakes, per process: {(database, key hash, scope, stamp groups):
# (field names, values, stamps)}. Never trusted alone: see api_client_confirm.
_remembered: dict[tuple[str, str, str, tuple[str, ...]], tuple[list, list, tuple | None]] = {}
MOST_REMEMBERED = 256
# The SQLSTATE of duban_require (core migration 0002): the statement that confirms a
# remembered client found it changed.
CHANGED = "DU001"


def api_client_for_key(
    raw: str | None,
    *,
    scope: str,
    stamps: tuple[str, ...] = (),
    cached: bool = False,
    fresh: bool = False,
) -> ApiClient | None:
    """The active client with this key and scope, or None.
    Its department is read on access. Plain SQL, the statement made once per database: it
    runs on every API and Open311 intake, and the ORM's compilation of the query cost more
    than the query. With `stamps` (group names, duban.core.stamps), the same statement
    reads those stamps: they are set on the client as `client.stamps` (as
    stamps.read_many gives them), for an intake that would read them next.

    `cached`, for an intake: on PostgreSQL, where its transaction goes to the server in
    one round trip (core.sql.batch), a client found before by this process is given
    without a query, with the stamps read then, so that an intake makes one round trip
    instead of two. The caller then trusts it only for a new case stored in a transaction
    that ran api_client_confirm, which fails it unless the client's row and the stamps are
    still as they were read (ApiClientChanged); any other outcome — a refusal, which may
    rest on a category changed since, or an earlier case returned — it decides again with
    the client read afresh (api_client_again, then `fresh`: read now, and remembered)."""
    if not raw or len(raw) > 200:
        return None
    db = connections[DEFAULT_DB_ALIAS]  # once (see core.sql, whose run() this uses)
    memo = (db.alias, key_hash(raw), str(scope), stamps)
    if cached and not fresh and can_batch():
        found = _remembered.get(memo)
        if found is not None:
            names, values, read = found
            client = ApiClient.from_db(db.alias, names, list(values))
            if stamps:
                client.stamps = read
            client._duban_unconfirmed = (memo, values, read)
            client._duban_memo = memo
            return client
    prepared = _client_select.get((db.alias, stamps))
    if prepared is None:
        meta = ApiClient._meta
        quote = db.ops.quote_name
        columns = [f.get_col(meta.db_table) for f in meta.concrete_fields]
        extra, extra_params = stamp_columns(stamps, db.vendor)
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
        _client_select[(db.alias, stamps)] = prepared
    sql, extra_params, converters, names = prepared
    row = run(sql, [*extra_params, memo[1], memo[2]]).fetchone()
    if row is None:
        _remembered.pop(memo, None)
        return None
    values = list(row[: len(names)])
    for i, functions, column in converters:
        for convert in functions:
            values[i] = convert(values[i], column, db)
    client = ApiClient.from_db(db.alias, names, values)
    read = stamps_from_columns(row[len(names) :]) if stamps else None
    if stamps:
        client.stamps = read
    if cached and can_batch():
        if len(_remembered) >= MOST_REMEMBERED:
            _remembered.clear()
        _remembered[memo] = (names, values, read)
    return client


_confirm_statements: dict[tuple[str, int], str] = {}


def api_client_confirm(client: ApiClient) -> None:
    """In the transaction that writes with a client from api_client_for_key(cached=True),
    before its writes: for a client given from memory, a statement that fails the
    transaction unless the client's row — every column — and the stamps read with it are
    still as remembered. Inside a core.sql batch it goes with the batch (no round trip of
    its own). A client read from the database now needs none (nothing is sent)."""
    pending = client.__dict__.pop("_duban_unconfirmed", None)
    if pending is None:
        return
    memo, values, read = pending
    db = connections[DEFAULT_DB_ALIAS]
    n_stamps = len(read) if read else 0
    sql = _confirm_statements.get((db.alias, n_stamps))
    if sql is None:
        meta = ApiClient._meta
        quote = db.ops.quote_name
        # the key by equality (its index), the rest as they were, NULLs included
        same = " AND ".join(
            f"{quote(f.column)} {'=' if f.primary_key else 'IS NOT DISTINCT FROM'} %s"
            for f in meta.concrete_fields
        )
        checks = [f"EXISTS (SELECT 1 FROM {quote(meta.db_table)} WHERE {same})"]
        checks += ["(SELECT version FROM core_stamp WHERE name = %s) = %s"] * n_stamps
        sql = _confirm_statements[(db.alias, n_stamps)] = (
            f"SELECT duban_require({' AND '.join(checks)}, 'api_client')"
        )
    params = [
        f.get_db_prep_save(value, db)
        for f, value in zip(ApiClient._meta.concrete_fields, values, strict=True)
    ]
    for name, stamp in zip(memo[3], read, strict=True) if read else ():
        params += [name, stamp]
    execute(sql, params)


def api_client_changed(error: BaseException) -> bool:
    """Whether `error` is api_client_confirm's statement finding the client changed."""
    cause = error.__cause__ if error.__cause__ is not None else error
    return getattr(cause, "sqlstate", None) == CHANGED


def api_client_again(client: ApiClient) -> bool:
    """For a caller whose intake with `client` did not store a new case — refused, or
    rolled back by api_client_confirm: True when the client was given from memory, so that
    the outcome may rest on what has changed since (a category, the client itself). The
    client is then forgotten: look the key up again and try once more (a client read from
    the database is confirmed by that read)."""
    memo = client.__dict__.pop("_duban_memo", None)
    if memo is None:
        return False
    _remembered.pop(memo, None)
    return True


def api_clients_forget() -> None:
    """Forget every remembered client (tests that count round trips start without any)."""
    _remembered.clear()
