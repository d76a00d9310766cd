"""Stamps: what a worker computed from a group of tables is kept under the group's stamp
and never served once the stamp differs.

A stamp is a row of ``core.Stamp``. Database triggers give it a new random value, in the
writer's transaction, whenever a row of one of its group's tables is inserted, updated or
deleted — by the services, ``bulk_create``, ``queryset.update()``/``delete()``, the admin,
a migration or plain SQL — so no writer has anything to remember. A reader reads the stamp
before the tables, so what it keeps is never older than the stamp it is kept under; a
change that commits changes the stamp. Random rather than a counter: a rolled-back
transaction (or test) can never bring back a value that named other contents.

Triggers exist on SQLite and PostgreSQL. Elsewhere, or when a group's row is missing,
``read`` returns None and callers compute every time.

The triggers are installed by migrations, with the functions below (each migration holds
its own copy of its tables: ``GROUPS`` is what the code expects now, and
``tests/test_stamps.py`` checks that the migrated database has exactly these triggers).
On SQLite a migration that rebuilds a table (most ``AlterField``\\s) drops the table's
triggers: such a migration must run ``installer()`` for the table's groups again. After
every ``migrate`` (and ``flush``) ``after_migrate`` puts back the rows of complete groups
and deletes those of groups with a trigger missing, with a warning, so that nothing is
kept under a stamp that no longer moves.
"""

from __future__ import annotations

import re
import secrets
import warnings
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections

GROUPS: dict[str, tuple[str, ...]] = {
    # Each worker's copy of the working-day calendar (cases.services._calendar).
    "calendar": ("cases_workdaycalendar", "cases_calendarday"),
    # Each worker's copy of the service catalogue (cases.services.category_for_code).
    "catalogue": ("cases_category", "cases_attribute"),
    # The status of whole plans, remembered by each worker (plans.freshness).
    "plans": (
        "plans_plan",
        "plans_commitment",
        "plans_commitment_co_departments",
        "plans_progressreport",
        "accounts_department",
    ),
    # The pipeline's aggregates, in the shared cache (projects.freshness).
    "pipeline": (
        "projects_project",
        "projects_approvalstep",
        "projects_monthlyreport",
        "projects_problem",
        "accounts_department",
    ),
}

VENDORS = ("sqlite", "postgresql")
FUNCTION = "core_stamp_renew"
_EVENTS = ("insert", "update", "delete")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")
# PostgreSQL: a random bigint below 2**53, so that it survives a trip through a double.
_PG_RANDOM = "floor(random() * 9007199254740991)::bigint + 1"


def _random() -> int:
    return secrets.randbits(52) + 1


# -- reading ---------------------------------------------------------------------------


def read(name: str, *, using: str = DEFAULT_DB_ALIAS) -> int | None:
    """The group's stamp, or None when there is none to trust (compute, keep nothing)."""
    found = read_many((name,), using=using)
    return None if found is None else found[0]


def read_many(names: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> tuple[int, ...] | None:
    """The stamps of these groups, in one query; None when one of them is missing."""
    names = tuple(names)
    connection = connections[using]
    if connection.vendor not in VENDORS:
        return None  # no triggers there
    statement = (
        f"SELECT name, version FROM core_stamp WHERE name IN ({', '.join(['%s'] * len(names))})"
    )
    if using == DEFAULT_DB_ALIAS:  # read before every intake: the cheaper cursor
        from duban.core import sql

        found = dict(sql.run(statement, names).fetchall())
    else:
        with connection.cursor() as cursor:
            cursor.execute(statement, names)
            found = dict(cursor.fetchall())
    if len(found) < len(names):
        return None
    return tuple(found[name] for name in names)


def subqueries(names: Iterable[str], vendor: str) -> tuple[list[str], list[str]]:
    """For a caller that reads these stamps in a statement of its own (one query instead
    of two): its extra columns, each a group's stamp or NULL, and their parameters; none
    where there are no triggers. `from_columns` reads them back."""
    if vendor not in VENDORS:
        return [], []
    names = list(names)
    return ["(SELECT version FROM core_stamp WHERE name = %s)"] * len(names), names


def from_columns(values) -> tuple[int, ...] | None:
    """The stamps read by `subqueries`' columns, as read_many gives them: None when one is
    missing (or there were none to read)."""
    values = tuple(values)
    return None if not values or None in values else values


def renew(name: str, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Give the group a new stamp by hand, as its triggers do on every write. No writer
    needs it; tests and benchmarks use it to measure the computing path."""
    with connections[using].cursor() as cursor:
        cursor.execute("UPDATE core_stamp SET version = %s WHERE name = %s", [_random(), name])


def _row_ensure(cursor, name: str) -> None:
    """The group's row, with a random value (two databases never share a stamp by
    chance), unless it is there."""
    cursor.execute(
        "INSERT INTO core_stamp (name, version) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
        [name, _random()],
    )


# -- installing, for migrations ----------------------------------------------------------


def trigger_names(vendor: str, name: str, table: str) -> list[str]:
    """The triggers that keep `name` moving with `table`: one per statement on PostgreSQL,
    one per row event on SQLite (which has no statement triggers)."""
    if vendor == "postgresql":
        return [f"{table}_stamp_{name}"]
    if vendor == "sqlite":
        return [f"{table}_stamp_{name}_{event}" for event in _EVENTS]
    return []


def _check(name: str, tables: Iterable[str]) -> None:
    """Names go into the SQL as they are: plain lower-case identifiers only, and trigger
    names within PostgreSQL's 63 characters."""
    for identifier in (name, *tables):
        if not _IDENTIFIER.match(identifier):
            raise ValueError(f"not a stamp or table name: {identifier!r}")
    if len(name) > 20 or any(len(f"{t}_stamp_{name}_delete") > 63 for t in tables):
        raise ValueError(f"names too long for triggers: {name!r}, {tables!r}")


def install(schema_editor, name: str, tables: Iterable[str]) -> None:
    """Create the group's row (a random value: two databases never share a stamp by
    chance) and the triggers that renew it on every write of `tables`. Idempotent."""
    tables = tuple(tables)
    _check(name, tables)
    connection = schema_editor.connection
    if connection.vendor not in VENDORS:
        return  # no triggers: readers compute every time
    quote = schema_editor.quote_name
    with connection.cursor() as cursor:
        _row_ensure(cursor, name)
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    UPDATE core_stamp SET version = {_PG_RANDOM} WHERE name = TG_ARGV[0];
                    RETURN NULL;
                END $$
                """
            )
        for table in tables:
            if connection.vendor == "postgresql":
                (trigger,) = trigger_names(connection.vendor, name, table)
                cursor.execute(f"DROP TRIGGER IF EXISTS {quote(trigger)} ON {quote(table)}")
                cursor.execute(
                    f"CREATE TRIGGER {quote(trigger)} "
                    f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {quote(table)} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}('{name}')"
                )
                continue
            names = trigger_names(connection.vendor, name, table)
            for trigger, event in zip(names, _EVENTS, strict=True):
                cursor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {quote(trigger)} "
                    f"AFTER {event.upper()} ON {quote(table)} "
                    f"BEGIN UPDATE core_stamp SET version = random() WHERE name = '{name}'; END"
                )


def uninstall(schema_editor, name: str, tables: Iterable[str]) -> None:
    """Drop the group's triggers on `tables` and its row (and the trigger function with
    the last group)."""
    tables = tuple(tables)
    _check(name, tables)
    connection = schema_editor.connection
    if connection.vendor not in VENDORS:
        return
    quote = schema_editor.quote_name
    with connection.cursor() as cursor:
        for table in tables:
            for trigger in trigger_names(connection.vendor, name, table):
                if connection.vendor == "postgresql":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {quote(trigger)} ON {quote(table)}")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {quote(trigger)}")
        cursor.execute("DELETE FROM core_stamp WHERE name = %s", [name])
        if connection.vendor == "postgresql" and not installed(using=connection.alias):
            cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


def installer(name: str, tables: Iterable[str]):
    """A migration operation: install on the way forward, uninstall on the way back."""
    from django.db import migrations

    tables = tuple(tables)
    _check(name, tables)

    def forward(apps, schema_editor):
        install(schema_editor, name, tables)

    def backward(apps, schema_editor):
        uninstall(schema_editor, name, tables)

    return migrations.RunPython(forward, backward)


# -- checking ----------------------------------------------------------------------------


def installed(*, using: str = DEFAULT_DB_ALIAS) -> set[tuple[str, str]]:
    """(table, trigger) of every stamp trigger in the database."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)"
            )
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        else:
            return set()
        return {(table, trigger) for table, trigger in cursor.fetchall() if "_stamp" in trigger}


def missing(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    """For each group of ``GROUPS``, the triggers it should have and does not."""
    vendor = connections[using].vendor
    present = installed(using=using)
    return {
        name: [
            trigger
            for table in tables
            for trigger in trigger_names(vendor, name, table)
            if (table, trigger) not in present
        ]
        for name, tables in GROUPS.items()
    }


def after_migrate(*, using: str = DEFAULT_DB_ALIAS, **_signal_kwargs) -> None:
    """post_migrate (also sent by ``flush``, which empties core_stamp): the row of every
    group whose triggers are all there, and none for a group missing one (a group whose
    migration has not run has none: no warning for it)."""
    connection = connections[using]
    if connection.vendor not in VENDORS:
        return
    if "core_stamp" not in connection.introspection.table_names():
        return  # core's migration not applied (yet, or any more)
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for name, absent in missing(using=using).items():
            if not absent:
                _row_ensure(cursor, name)
                continue
            cursor.execute("DELETE FROM core_stamp WHERE name = %s", [name])
            every = [t for table in GROUPS[name] for t in trigger_names(vendor, name, table)]
            if len(absent) < len(every):  # some there: a table was rebuilt without them
                warnings.warn(
                    f"stamp {name!r} is not kept: triggers {', '.join(absent)} are missing "
                    "(a migration that rebuilt a table must run stamps.installer() again)",
                    RuntimeWarning,
                    stacklevel=2,
                )
