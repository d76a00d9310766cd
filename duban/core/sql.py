"""Plain-SQL writes for the rows every intake makes (the case, its event), and the queue of
SQLite's writers.

`insert_row(instance)` stores a new model instance as `Model.save()` does — each field's
`pre_save(add=True)` and `get_db_prep_save`, the primary key read back — with an INSERT
statement made once per process, model and database instead of compiled by the ORM on
every call (the compilation costs several times the statement on these machines). It
sends no signals; a model that has `pre_save`/`post_save` receivers is saved by the ORM.

`add_to_row` adds to the counters of a row, making it if it is not there, in one statement
(an upsert), whoever else adds to it at the same time.

Inside `batch()` on PostgreSQL, statements whose results are not needed at once wait and go
to the server together with the next statement whose result is, or with the COMMIT. A new
case's key is taken from its sequence beforehand (`reserve_key`, from a block of keys the
process took ahead), so that its INSERT waits too: an intake's whole transaction — BEGIN, the case, its
event, the overdue bucket, the roll-up, the audit chain's append, COMMIT — is one round trip.
With settings.DB_PREPARE, each statement is prepared on the server once per connection and
sent as `EXECUTE` with its values written in the string (`_execute`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import os
import re
import threading
import time
from decimal import Decimal

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DataError, connection, connections, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.models import (
    DEFERRED,
    BooleanField,
    CharField,
    DateTimeField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
)
from django.db.models.fields import AutoFieldMixin
from django.db.models.signals import post_init, post_save, pre_init, pre_save

try:
    from psycopg import pq
    from psycopg.types.json import Jsonb
except ImportError:  # only SQLite here
    pq = Jsonb = None

# The functions below look the default database's wrapper up once per call
# (connections[DEFAULT_DB_ALIAS]): every attribute of the `connection` proxy looks it up
# again, about 5 µs here (asgiref's thread-critical local raises and catches an exception
# each time to learn that no event loop runs), and an intake read some 120 of them.

_prepared: dict[tuple[str, type], tuple[list, tuple[str, str], bool, dict] | None] = {}


def _passes(field) -> type | None:
    """The type whose values this field stores as they are: str for Django's own text
    fields (CharField, TextField and subclasses such as EmailField), int for its integer
    fields and keys to an integer auto field, bool for BooleanField; None for the others,
    whose values go through the field's conversions. Only where the field's class is
    Django's and keeps Django's conversions, which return such a value unchanged."""
    cls = type(field)
    if not cls.__module__.startswith("django.") or cls.pre_save is not Field.pre_save:
        return None
    if isinstance(field, (CharField, TextField)):
        plain = (
            cls.get_db_prep_save is Field.get_db_prep_save
            and cls.get_db_prep_value is Field.get_db_prep_value
            and cls.get_prep_value in (CharField.get_prep_value, TextField.get_prep_value)
        )
        return str if plain else None
    if isinstance(field, ForeignKey):
        target = field.target_field
        return int if isinstance(target, AutoFieldMixin) and _passes_int(target) else None
    if isinstance(field, BooleanField) and cls.get_prep_value is BooleanField.get_prep_value:
        return bool
    if isinstance(field, IntegerField) and not isinstance(field, AutoFieldMixin):
        return int if _passes_int(field) else None
    return None


def _passes_int(field) -> bool:
    cls, ops = type(field), type(connection.ops)
    if isinstance(field, AutoFieldMixin):  # the target of a key
        prep = cls.get_db_prep_value is AutoFieldMixin.get_db_prep_value and (
            ops.validate_autopk_value is BaseDatabaseOperations.validate_autopk_value
        )
    else:
        prep = cls.get_db_prep_value is IntegerField.get_db_prep_value
    return (
        prep
        and cls.__module__.startswith("django.")
        and cls.get_prep_value is IntegerField.get_prep_value
        and ops.adapt_integerfield_value is BaseDatabaseOperations.adapt_integerfield_value
    )


def _moment(field) -> bool:
    """Django's own DateTimeField without auto_now: an aware datetime is stored as the
    database's adapter makes it (the field's other conversions return it unchanged)."""
    cls = type(field)
    return (
        cls is DateTimeField
        and not field.auto_now
        and not field.auto_now_add
        and cls.get_db_prep_save is Field.get_db_prep_save
    )


def _statement(
    model: type[Model], *, with_key: bool = False
) -> tuple[list, tuple[str, str], bool, dict] | None:
    """The INSERT of a model and how to read each column's value; None when the model must
    be saved by the ORM (a primary key that is not an auto field, parents, database
    defaults). `with_key`: the primary key is given (reserve_key), not made by the
    database."""
    key = (DEFAULT_DB_ALIAS, model, with_key)
    if key not in _prepared:
        meta = model._meta
        fields = [
            f
            for f in meta.local_concrete_fields
            if f is not meta.auto_field and not getattr(f, "generated", False)
        ]
        if (
            meta.auto_field is None
            or meta.parents
            or any(f.has_db_default() for f in meta.concrete_fields)
        ):
            _prepared[key] = None
            return None
        if with_key:
            fields.insert(0, meta.auto_field)
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            "VALUES ("
        )
        returning = bool(connection.features.can_return_columns_from_insert) and not with_key
        end = f") RETURNING {quote(meta.pk.column)}" if returning else ")"
        # Django's own fields store None as NULL, and some a value of one type as it is
        # (_passes): only the other values need the field's conversions.
        columns = [
            (f, f.attname, _passes(f), _moment(f), type(f).__module__.startswith("django."))
            for f in fields
        ]
        _prepared[key] = (columns, (sql, end), returning, {})
    return _prepared[key]


def _with_nulls(sql: tuple[str, str], values: list, variants: dict) -> tuple[str, list]:
    """The statement with a NULL literal where a value is None, and the other values: a
    new case has some 60 columns, and psycopg parses a statement of more than 50
    parameters again on every execution instead of keeping it (0.15 ms here). The few
    patterns of NULLs a model's inserts have are kept."""
    nulls = tuple(i for i, value in enumerate(values) if value is None)
    statement = variants.get(nulls)
    if statement is None:
        marks = ["NULL" if value is None else "%s" for value in values]
        statement = sql[0] + ", ".join(marks) + sql[1]
        if len(variants) < 256:
            variants[nulls] = statement
    return statement, [value for value in values if value is not None]


def insert_row(instance: Model, *, defer: bool = False) -> bool:
    """INSERT a new instance (primary key unset, or reserved by reserve_key) and set its
    key, as save() would; False (nothing done) when the model must be saved by the ORM
    instead (see _statement, models with pre_save or post_save receivers, and values that
    are SQL expressions). With `defer`, inside `batch()`, the row may wait for the batch's
    next round trip: its key is set then (before any other statement runs). Until then the
    instance must not be saved again (with no key, save() would insert it a second time).
    A row whose key was reserved always waits in a batch: its key is known already."""
    model = type(instance)
    reserved = instance.pk is not None and instance.__dict__.get(_RESERVED) == instance.pk
    if not instance._state.adding or (instance.pk is not None and not reserved):
        return False
    prepared = _statement(model, with_key=reserved)
    if prepared is None or pre_save.has_listeners(model) or post_save.has_listeners(model):
        return False
    # As save(): refuse unsaved related objects, take the key of one saved since assigned.
    instance._prepare_related_fields_for_save(operation_name="save")
    columns, sql, returning, variants = prepared
    values = []
    db = connections[DEFAULT_DB_ALIAS]
    adapt_moment = db.ops.adapt_datetimefield_value
    for field, attname, passes, moment, none_as_null in columns:
        value = getattr(instance, attname) if passes or moment else field.pre_save(instance, True)
        if (value is None and none_as_null) or type(value) is passes:
            values.append(value)
        elif moment and type(value) is dt.datetime and value.tzinfo is not None:
            values.append(adapt_moment(value))
        elif hasattr(value, "resolve_expression"):
            return False  # an SQL expression (F(), Now() ...): the ORM compiles it
        else:
            values.append(field.get_db_prep_save(value, db))
    sql, values = _with_nulls(sql, values, variants)
    instance._state.adding = False
    instance._state.db = db.alias
    if reserved and batching():
        execute(sql, values)
        return True
    if defer and returning and batching():

        def keep_key(row) -> None:
            instance.pk = row[0]

        execute(sql, values, then=keep_key)
        return True
    try:
        cursor = run(sql, values)
        if not reserved:
            instance.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    except BaseException:
        instance._state.adding = True
        raise
    return True


_RESERVED = "_duban_reserved_key"


def reserve_key(instance: Model) -> bool:
    """Give a new instance its primary key from the database's sequence before it is
    inserted, so that the rows that refer to it, and its INSERT itself, can wait in a
    `batch()` (PostgreSQL; one round trip). False, with nothing done, where batches do not
    wait (SQLite) or the model's key is not made by a sequence. The key comes from the
    process's block of keys taken ahead (_KeyBlock): under load (more than one new row a
    second) most sends nothing for it; otherwise it is one query. A key is used up even if
    the instance is never saved, as a failed INSERT uses it up."""
    if not instance._state.adding or instance.pk is not None:
        return False
    model = type(instance)
    if not can_batch() or _statement(model, with_key=True) is None:
        return False
    blocks = _key_blocks.get((DEFAULT_DB_ALIAS, model))
    if blocks is None or blocks.pid != os.getpid():  # a forked worker takes its own
        meta = model._meta
        quote = connection.ops.quote_name
        sequence = f"pg_get_serial_sequence('{quote(meta.db_table)}', '{meta.auto_field.column}')"
        blocks = _key_blocks[(DEFAULT_DB_ALIAS, model)] = _KeyBlock(sequence)
    key = blocks.take()
    instance.pk = key
    instance.__dict__[_RESERVED] = key
    return True


class _KeyBlock:
    """Keys of one model taken from its sequence ahead, a block at a time, for this
    process. A block is used for KEY_BLOCK_SECONDS at most, so that keys stay in the order
    of time within that (the queues list cases newest first by key): the rest of an old
    block is dropped, a gap in the numbers, as a rolled-back INSERT leaves. The block is one
    key while keys are asked for less often than that (no gaps); it doubles, up to
    KEY_BLOCK_MOST, while blocks are used up in time, and is what the last block's time
    used when one was not."""

    __slots__ = ("keys", "lock", "pid", "sequence", "size", "taken_at")

    def __init__(self, sequence: str):
        self.lock = threading.Lock()  # threaded servers (runserver, the live-server tests)
        self.pid = os.getpid()
        self.sequence = sequence
        self.keys: list[int] = []  # the block's unused keys, the smallest last
        self.size = 0
        self.taken_at = 0.0

    def take(self) -> int:
        with self.lock:
            return self._take()

    def _take(self) -> int:
        now = _monotonic()
        fresh = now - self.taken_at < KEY_BLOCK_SECONDS
        if self.keys and fresh:
            return self.keys.pop()
        if fresh:  # used up in time
            self.size = min(max(self.size, 1) * 2, KEY_BLOCK_MOST)
        else:  # what a block's time used
            self.size = max(self.size - len(self.keys), 1)
        rows = run(
            f"SELECT nextval({self.sequence}) FROM generate_series(1, %s)", [self.size]
        ).fetchall()
        self.keys = sorted((row[0] for row in rows), reverse=True)
        self.taken_at = now
        return self.keys.pop()


KEY_BLOCK_SECONDS = 1.0
KEY_BLOCK_MOST = 64
_monotonic = time.monotonic  # tests move it
_key_blocks: dict[tuple[str, type], _KeyBlock] = {}


def forget_reserved_keys() -> None:
    """Drop the keys taken ahead (tests that count round trips start without any)."""
    _key_blocks.clear()


# -- new instances -----------------------------------------------------------------------

_builds: dict[type, tuple[list, list, dict]] = {}


def build(model: type[Model], /, **values) -> Model:
    """`model(**values)`, for the rows every intake makes. Django's Model.__init__ looks
    every field up among the keywords and computes its default: some 70 µs for a case (53
    fields). This fills a row of the defaults — computed once, except callable ones — and
    passes it by position, __init__'s fast path (~20 µs); related objects given by name are
    then set through their descriptor, as __init__ sets them. Anything else (a property, a
    name that is no field, a field given twice, a model with pre_init or post_init
    receivers) goes to the model itself."""
    plan = _builds.get(model)
    if plan is None:
        template, calls, where = [], [], {}
        for i, field in enumerate(model._meta.concrete_fields):
            where[field.attname] = (i, None)
            if field.is_relation:
                where[field.name] = (i, field)
            if field.column is None or getattr(field, "generated", False):
                template.append(DEFERRED)  # left unset, as __init__ leaves it
            elif (field.has_default() and callable(field.default)) or (
                not field.has_default() and field.has_db_default()
            ):  # a new value (or expression) for each instance, as __init__ makes
                calls.append((i, field))
                template.append(None)
            else:
                template.append(field.get_default())
        plan = _builds[model] = (template, calls, where)
    template, calls, where = plan
    if (
        pre_init.has_listeners(model)
        or post_init.has_listeners(model)  # it would see the related objects unset
        or not where.keys() >= values.keys()
    ):
        return model(**values)
    row = template.copy()
    for i, field in calls:
        row[i] = field.get_default()
    related = []
    given = set()
    for name, value in values.items():
        i, field = where[name]
        if i in given:  # a field given twice (`case` and `case_id`): as the model does it
            return model(**values)
        given.add(i)
        if field is None:
            row[i] = value
        else:
            related.append((field.name, value))
    instance = model(*row)
    for name, value in related:
        setattr(instance, name, value)
    return instance


# -- counters ----------------------------------------------------------------------------

_upserts: dict[tuple, tuple[str, list | None, list, list]] = {}


def add_to_row(
    model: type[Model],
    *,
    key: dict,
    delta: dict[str, int],
    unique: tuple[str, ...] = (),
    where: str = "",
) -> None:
    """Add `delta` to the counters of the row of `model` with these `key` column values,
    inserting the row with `delta` as its counters when there is none: one INSERT ... ON
    CONFLICT DO UPDATE (SQLite and PostgreSQL), so a concurrent writer that makes the row
    first is added to, not lost. `unique` names the columns of the unique constraint that
    finds the row (default: the key's), `where` its condition when it is partial (SQL on
    the model's own columns). Key values are stored as their fields store them (a date
    as the database's date), None as NULL. Deferred inside `batch()`."""
    key_columns = tuple(key)
    names = tuple(delta)
    nulls = tuple(column for column, value in key.items() if value is None)
    unique = unique or key_columns
    cache = (DEFAULT_DB_ALIAS, model, key_columns, names, nulls, unique, where)
    prepared = _upserts.get(cache)
    if prepared is None:
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        # The other columns get their fields' defaults, as the ORM's create() gives them.
        others = [
            f
            for f in model._meta.concrete_fields
            if not f.primary_key and f.column not in key_columns and f.column not in names
        ]
        columns = [*key_columns, *names, *(f.column for f in others)]
        values = ["NULL" if column in nulls else "%s" for column in key_columns]
        statement = (
            f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join([*values, *['%s'] * (len(names) + len(others))])}) "
            f"ON CONFLICT ({', '.join(quote(c) for c in unique)})"
            + (f" WHERE {where}" if where else "")
            + " DO UPDATE SET "
            + ", ".join(f"{quote(n)} = {table}.{quote(n)} + excluded.{quote(n)}" for n in names)
        )
        # Constant defaults are converted once; a callable one (timezone.now) on every call.
        constant = not any(callable(f.default) for f in others)
        # The key's values go through their fields' conversions, as insert_row's do, unless
        # the field stores a value of that type as it is (_passes).
        by_column = {f.column: f for f in model._meta.concrete_fields}
        fields = [(by_column[c], _passes(by_column[c])) for c in key_columns if c not in nulls]
        prepared = (statement, _defaults(others) if constant else None, others, fields)
        _upserts[cache] = prepared
    statement, defaults, others, fields = prepared
    if defaults is None:
        defaults = _defaults(others)
    db = connections[DEFAULT_DB_ALIAS]
    params = [
        value if type(value) is passes else field.get_db_prep_save(value, db)
        for (field, passes), value in zip(
            fields, (v for v in key.values() if v is not None), strict=True
        )
    ]
    execute(statement, [*params, *delta.values(), *defaults])


def _defaults(fields) -> list:
    db = connections[DEFAULT_DB_ALIAS]
    return [f.get_db_prep_save(f.get_default(), db) for f in fields]


# -- one round trip for several statements (PostgreSQL) ----------------------------------


# The batch in progress on this thread, also kept on its connection (for run(), which has
# the connection in hand): looking the connection up (connections[alias], a context-local)
# cost ~2.5 µs, and an intake asked for the queue a dozen times.
_batches = threading.local()


def _queue() -> list | None:
    """The statements waiting in this connection's batch; None outside a batch."""
    return getattr(_batches, "queue", None)


def batching() -> bool:
    """True inside a `batch()` that holds statements back (PostgreSQL)."""
    return _queue() is not None


def execute(sql: str, params, *, then=None) -> None:
    """Run a statement whose result nobody reads now; `then(row)` is given its first row
    (the columns of a RETURNING clause). Inside `batch()` it waits for the batch's next
    round trip."""
    queue = _queue()
    if queue is not None:
        queue.append((sql, list(params), then))
        return
    cursor = run(sql, params)
    if then is not None:
        then(cursor.fetchone())


def query(sql: str, params) -> list[tuple]:
    """The rows of a statement, with the statements waiting in the batch sent before it in
    the same round trip."""
    queue = _queue()
    if queue:
        return _flush(queue, last=(sql, list(params)))
    return run(sql, params).fetchall()


@functools.lru_cache(maxsize=1024)
def _qmark(sql: str) -> str:
    return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")


def run(sql: str, params):
    """Execute a statement now and return the cursor to read its result from (at once).
    Unless queries are being logged or wrapped (tests counting them, DEBUG), the driver's
    own cursor runs it, with the checks and the error translation of Django's cursor:
    - on SQLite, with the statement in the driver's placeholder style, made once: Django's
      cursor costs some 25 µs more per statement here, and an intake makes ten;
    - on PostgreSQL, prepared on the server once per connection (settings.DB_PREPARE; see
      _execute), else with the parameters bound by the server (a psycopg Cursor, where
      Django's is a ClientCursor that turns each parameter into a literal with psycopg's
      quoting, some 6 µs each here).
    Statements waiting in a batch are sent first."""
    db = connections[DEFAULT_DB_ALIAS]
    if not db.queries_logged and all(
        getattr(wrapper, "batch", False) for wrapper in db.execute_wrappers
    ):
        queue = getattr(db, "_duban_sql_queue", None)
        if queue:
            _flush(queue)
        if db.vendor in ("sqlite", "postgresql"):
            db.close_if_health_check_failed()
            db.ensure_connection()
            db.validate_no_broken_transaction()
            with db.wrap_database_errors:
                if db.vendor == "sqlite":
                    return db.connection.execute(_qmark(sql), params)
                if settings.DB_PREPARE:
                    cursor = db.connection.cursor()
                    with _forget_if_missing(db):
                        cursor.execute(_execute(db, sql, params))
                    return cursor
                import psycopg  # the driver, there when this is PostgreSQL

                cursor = psycopg.Cursor(db.connection)
                cursor.execute(sql, params)
                return cursor
    cursor = db.cursor()
    cursor.execute(sql, params)
    return cursor


def _flush(
    queue: list, last: tuple[str, list] | None = None, *, commit: bool = False
) -> list[tuple]:
    """Send the waiting statements (and `last`, or a COMMIT) as one string, in order;
    PostgreSQL runs them one after the other in the transaction and stops at the first
    error, which is raised here. Returns the rows of `last`.

    With settings.DB_PREPARE, each statement goes as `EXECUTE` of a statement prepared
    once per connection (_execute): the server then parses only the EXECUTE and
    its values, and plans nothing (parsing, analysing and planning the batch's statements
    took about a fifth of the server's time per intake). When the string ends the
    transaction and the transaction has sent nothing yet, its BEGIN goes in the same string
    (_in_one_round_trip) instead of in a round trip of its own."""
    db = connections[DEFAULT_DB_ALIAS]
    items = queue[:]
    queue.clear()
    if last is not None:
        items.append((*last, None))
    if not items:
        return []
    with db.cursor() as cursor:
        whole = commit and _in_one_round_trip(db)
        with whole if whole else contextlib.nullcontext():
            params = None
            if settings.DB_PREPARE:
                statements = [_execute(db, sql, values) for sql, values, _then in items]
            else:
                statements = [sql for sql, _values, _then in items]
                params = [value for _sql, values, _then in items for value in values]
            if commit:
                statements.append("COMMIT")
            if whole:
                statements.insert(0, db.connection._get_tx_start_command().decode())
            with _forget_if_missing(db):
                # One statement a line: a comment ending one cannot hide the next.
                cursor.execute(";\n".join(statements), params)
        if whole:
            cursor.nextset()  # BEGIN's
        for index, (_sql, _values, then) in enumerate(items):
            if index:
                cursor.nextset()
            if then is not None:
                then(cursor.fetchone())
        return cursor.fetchall() if last is not None else []


# Statements prepared on a connection: {(SQL, parameter types): name}, kept on the driver's
# connection (conn._duban_prepared), so that it lives and dies with the server's session,
# also when a pool lends the connection to another request.
_PLACEHOLDER = re.compile(r"%([s%])")
_MOST_PREPARED = 1024


def _execute(db, sql: str, values: list) -> str:
    """`EXECUTE name(values)` of this statement, prepared on the server (PREPARE, one
    round trip) the first time this connection sends it with values of these types. The
    values are literals, read by the server as the declared types (_WRITERS). Values of
    another type, and statements past _MOST_PREPARED on a connection, go as they are, the
    values written by psycopg (_inline); so do all where connections last one request
    (CONN_MAX_AGE 0). The name is a hash of the statement and its types, so that a name
    means one statement whoever prepared it."""
    conn = db.connection
    if db.settings_dict["CONN_MAX_AGE"] == 0:
        # A connection per request: each statement would be prepared on every request,
        # one round trip each.
        return _inline(conn, sql, values)
    known = getattr(conn, "_duban_prepared", None)
    if known is None:
        known = conn._duban_prepared = {}
    types = _types(values)
    if types is None:
        return _inline(conn, sql, values)
    name = known.get((sql, types))
    if name is None:
        if len(known) >= _MOST_PREPARED:
            return _inline(conn, sql, values)
        count = 0

        def number(match) -> str:
            nonlocal count
            if match.group(1) == "%":
                return "%"
            count += 1
            return f"${count}"

        statement = _PLACEHOLDER.sub(number, sql)
        declared = f" ({', '.join(types)})" if types else ""
        digest = hashlib.sha256(f"{declared} AS {statement}".encode()).hexdigest()[:24]
        name = f"duban_{digest}"
        try:
            with db.wrap_database_errors:
                conn.execute(f"PREPARE {name}{declared} AS {statement}")
        except Exception as error:
            if getattr(error.__cause__, "sqlstate", None) != "42P05":
                raise
            # Already there: the same statement, as its name says. Outside a transaction
            # nothing failed with it; inside one, the transaction did.
            known[(sql, types)] = name
            if conn.info.transaction_status != conn.info.transaction_status.IDLE:
                raise
        known[(sql, types)] = name
    if not values:
        return f"EXECUTE {name}"
    kinds = _KINDS
    return f"EXECUTE {name}({', '.join([kinds[type(v)][1](v) for v in values])})"


def _types(values) -> tuple[str, ...] | None:
    """The types to declare for these values; None when one has no type here."""
    types = []
    for value in values:
        kind = _KINDS.get(type(value)) or _kind(type(value))
        if kind is None:
            return None
        name = kind[0]
        if name == "int":  # as psycopg binds it: the smallest type it fits
            name = (
                "int2"
                if -(2**15) <= value < 2**15
                else "int4"
                if -(2**31) <= value < 2**31
                else "int8"
                if -(2**63) <= value < 2**63
                else "numeric"
            )
        elif name == "timestamp" and value.tzinfo is not None:
            name = "timestamptz"
        elif name == "jsonb" and value.dumps is None:
            return None
        types.append(name)
    return tuple(types)


def _quoted(text) -> str:
    """An escape string literal: with every backslash doubled it reads the same whatever
    standard_conforming_strings says (a setting any statement can change)."""
    if type(text) is not str:
        text = text.decode() if isinstance(text, bytes) else str.__str__(text)
    if "\x00" in text:
        raise DataError("PostgreSQL text cannot contain NUL (0x00) characters")
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


# The types psycopg binds Python values as, declared in the PREPARE so that a statement
# means what it means when psycopg binds it (a str as unknown: the server infers its type
# from the statement; an int as the smallest integer type it fits), and how each is
# written: a literal, which the server reads as the parameter's type (psycopg's own
# quoting costs some 6 µs a value here, and an intake sends some 85). Django's connections
# use UTF8. By class, for subclasses too, as psycopg finds its dumpers (a TextChoices
# member is a str): _kind.
_WRITERS: dict[type, tuple[str, object]] = {
    str: ("unknown", _quoted),
    type(None): ("unknown", lambda v: "NULL"),
    bool: ("bool", lambda v: "true" if v else "false"),
    int: ("int", lambda v: f"'{int.__repr__(v)}'"),
    float: ("float8", lambda v: f"'{float.__repr__(v)}'"),
    Decimal: ("numeric", lambda v: _quoted(Decimal.__str__(v))),
    dt.datetime: ("timestamp", lambda v: _quoted(dt.datetime.isoformat(v))),  # or with tz
    dt.date: ("date", lambda v: _quoted(dt.date.isoformat(v))),
}
if Jsonb is not None:
    from psycopg.types import numeric as _numeric

    _WRITERS[Jsonb] = ("jsonb", lambda v: _quoted(v.dumps(v.obj)))
    # Django's PostgreSQL backend gives integer fields' values in psycopg's wrappers.
    for _wrapper, _name in (
        (_numeric.Int2, "int2"),
        (_numeric.Int4, "int4"),
        (_numeric.Int8, "int8"),
        (_numeric.IntNumeric, "numeric"),
        (_numeric.Float4, "float4"),
        (_numeric.Float8, "float8"),
    ):
        _WRITERS[_wrapper] = (_name, _WRITERS[float if "float" in _name else int][1])
_KINDS: dict[type, tuple[str, object] | None] = dict(_WRITERS)


def _kind(cls: type) -> tuple[str, object] | None:
    """The type and writer of a class's values: its own, or its nearest base's."""
    kind = _KINDS[cls] = next((_WRITERS[b] for b in cls.__mro__ if b in _WRITERS), None)
    return kind


def _inline(conn, sql: str, values: list) -> str:
    """The statement with its values in it, as Django's ClientCursor writes them."""
    rest = iter(values)
    return _PLACEHOLDER.sub(
        lambda match: "%" if match.group(1) == "%" else _psycopg_literal(conn, next(rest)), sql
    )


@contextlib.contextmanager
def _forget_if_missing(db):
    """If the server has lost a statement prepared here (a DEALLOCATE ALL or DISCARD ALL by
    other code), the statement fails, and the next is prepared again. If a migration
    changed the columns one returns (its plan "must not change result type"), the
    connection is closed at the end of the request, its statements with it."""
    try:
        yield
    except Exception as error:
        cause = error.__cause__ if error.__cause__ is not None else error
        state = getattr(cause, "sqlstate", None)
        if state == "26000" and db.connection is not None:  # invalid_sql_statement_name
            db.connection._duban_prepared = None
        elif state == "0A000":  # feature_not_supported: the cached plan's result type
            db.close_at = 0  # Django closes it when the request ends
        raise


def _psycopg_literal(conn, value) -> str:
    from psycopg import sql as psycopg_sql

    return psycopg_sql.Literal(value).as_string(conn)


class _OneRoundTrip:
    """While the transaction's first string is sent with its BEGIN and COMMIT: psycopg,
    which would send its BEGIN on its own first, is told not to (autocommit) until the
    string has ended the transaction. If the string fails after its BEGIN, the failed
    transaction is rolled back here, so that the connection is as psycopg left it."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.autocommit = True

    def __exit__(self, kind, error, tb):
        conn = self.conn
        ended = conn.pgconn.transaction_status == pq.TransactionStatus.IDLE  # (not .info: 1.7 µs)
        try:
            if not ended:
                conn.execute("ROLLBACK")
            conn.autocommit = False
        except Exception:
            # The connection is broken (it cannot even roll back): closed, so that nothing
            # can run on it in autocommit by mistake; Django opens a new one. The error
            # that brought us here, if any, is the one to raise.
            conn.close()
            if kind is None:
                raise
        if kind is None and not ended:  # a statement kept the COMMIT from running
            raise transaction.TransactionManagementError(
                "The batch's statements did not end their transaction; it was rolled back."
            )


def _in_one_round_trip(db) -> _OneRoundTrip | None:
    """A _OneRoundTrip when the transaction has sent nothing to the server yet (psycopg
    has not begun it), else None."""
    conn = db.connection
    if (
        conn.autocommit
        or conn.pgconn.transaction_status != pq.TransactionStatus.IDLE
        or getattr(conn, "_pipeline", None) is not None
        or not hasattr(conn, "_get_tx_start_command")
    ):
        return None
    return _OneRoundTrip(conn)


def can_batch() -> bool:
    """Several statements in one execute() need PostgreSQL's client-side binding (Django's
    default for psycopg 3); SQLite runs in the process, where round trips cost nothing."""
    db = connections[DEFAULT_DB_ALIAS]
    return db.vendor == "postgresql" and not db.settings_dict.get("OPTIONS", {}).get(
        "server_side_binding"
    )


@contextlib.contextmanager
def atomic():
    """transaction.atomic() with its statements in a batch(). When it is the outermost
    transaction, on PostgreSQL the statements still waiting at its end and the COMMIT go in
    one round trip (with the BEGIN too, when nothing else was sent: _OneRoundTrip): Django's
    commit then finds the transaction ended, and psycopg sends nothing for it. A
    transaction marked for rollback is rolled back as always."""
    db = connections[DEFAULT_DB_ALIAS]
    outermost = not db.in_atomic_block
    with transaction.atomic(), batch(_commit=outermost):
        yield


@contextlib.contextmanager
def batch(*, _commit: bool = False):
    """Statements given to `execute`, `add_to_row` and `insert_row(defer=True)` wait and go
    with the next `query`, or at the end of the block. Any other statement (the ORM's, a
    cursor's) sends them first, so the database sees every statement in the order the code
    made them. Only inside a transaction, whose COMMIT or ROLLBACK (not statements that go
    through a cursor) must not end while statements wait: a batch outside one is refused.
    An error in a waiting statement is raised where they are sent — possibly by a later
    statement, a SAVEPOINT among them — so do not catch errors with savepoints inside a
    batch. Nothing changes outside PostgreSQL or inside another batch. (`_commit`: see
    `atomic`, the only caller that knows nothing runs between this block's end and the
    transaction's.)"""
    db = connections[DEFAULT_DB_ALIAS]
    if not db.in_atomic_block:
        raise transaction.TransactionManagementError("sql.batch() runs inside a transaction")
    if not can_batch() or _queue() is not None:
        yield
        return
    queue: list = []

    def first_the_waiting(execute, sql, params, many, context):
        if queue:
            _flush(queue)
        return execute(sql, params, many, context)

    first_the_waiting.batch = True  # sql.run sends the queue itself

    db._duban_sql_queue = _batches.queue = queue
    try:
        with db.execute_wrapper(first_the_waiting):
            yield
            if db.needs_rollback:
                queue.clear()  # the transaction is rolled back: nothing to send
            else:
                _flush(queue, commit=_commit)
    finally:
        db._duban_sql_queue = _batches.queue = None


# -- SQLite's writers --------------------------------------------------------------------

_queues: dict[tuple[int, str], int | None] = {}


def _queue_path() -> str | None:
    """The lock file of this SQLite database's writers; None for other databases and for
    in-memory SQLite (the tests)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "sqlite" or db.is_in_memory_db():
        return None
    return f"{db.settings_dict['NAME']}-writers"


@contextlib.contextmanager
def writer_queue():
    """Around a write transaction on SQLite: wait for the write lock on an exclusive file
    lock (flock) beside the database, which wakes the next writer the moment the last one
    has committed. SQLite's own busy handler polls after sleeping 1, 2, 5, 10, 15 ... ms,
    so at two workers that each hold the write lock half of the time, writers overslept
    the lock's release and could lose it to the same worker again and again (the p99 of
    the intake benchmark). It adds nothing to SQLite's own locking, which still decides:
    writers that do not queue wait in the busy handler as before. Taken only outside any
    transaction, so a writer never waits in the queue while it holds SQLite's lock (no
    deadlock with a queued writer waiting for that lock); if the lock file cannot be
    opened, writers do without."""
    db = connections[DEFAULT_DB_ALIAS]
    path = None if db.in_atomic_block else _queue_path()
    fd = None
    if path is not None:
        key = (os.getpid(), path)  # per process: gunicorn forks its workers
        if key not in _queues:
            try:
                _queues[key] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                _queues[key] = None
        fd = _queues[key]
    if fd is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
