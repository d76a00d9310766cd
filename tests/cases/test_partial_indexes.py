"""The tracking hash, the Open311 token, duplicate_of and pending_by are NULL in almost
every case: their indexes hold only the rows that have one (``WHERE col IS NOT NULL``), so
that an intake writes four index entries fewer. Checked here: the indexes are partial, the
lookups and Django's SET_NULL updates still read them on both databases (a query with
``col = ?`` or ``col IN (...)`` implies the condition), and the two unique ones still
refuse a second row with the same value while any number of NULLs is allowed."""

from __future__ import annotations

from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from duban.cases.models import Case
from duban.cases.services import tracking_hash

from ..conftest import make_user

pytestmark = pytest.mark.django_db

PARTIAL = {
    "cases_tracking_hash_unique": ("tracking_hash", True),
    "cases_open311_token_unique": ("open311_token", True),
    "cases_duplicate_of": ("duplicate_of_id", False),
    "cases_pending_by": ("pending_by_id", False),
}


def _plan(sql: str, params=()) -> str:
    """The plan of one statement, as one line. PostgreSQL is told not to scan the table:
    the test tables are small, and the question is whether the index can serve the query
    (a query that cannot use it still shows a Seq Scan)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return " | ".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = off")
        _pad(cursor)
        try:
            cursor.execute("EXPLAIN " + sql, params)
            return " | ".join(row[0].strip() for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")


PADDING = 500


def _pad(cursor) -> None:
    """On PostgreSQL, a table of some hundred cases without the four columns, analysed: on
    the test's few rows, whether the planner walked the primary key backwards or read the
    partial index (nearly the same cost) depended on the statistics an earlier test left
    (an autovacuum after a transactional test), not on the index."""
    if Case.objects.count() >= PADDING:
        return
    nulls = {"tracking_hash", "open311_token", "duplicate_of_id", "pending_by_id"}
    columns = [f.column for f in Case._meta.concrete_fields if not f.primary_key]
    values = [
        "NULL"
        if c in nulls
        else "''"
        if c == "external_id"
        else f"c.{connection.ops.quote_name(c)}"
        for c in columns
    ]
    quote = connection.ops.quote_name
    cursor.execute(
        f"INSERT INTO cases_case ({', '.join(quote(c) for c in columns)}) "
        f"SELECT {', '.join(values)} FROM cases_case c, generate_series(1, %s) "
        "WHERE c.id = (SELECT min(id) FROM cases_case)",
        [PADDING],
    )
    cursor.execute("ANALYZE cases_case")


def _plans_of(run, needle: str) -> list[str]:
    """The plans of the statements `run` sends that mention `needle`."""
    with CaptureQueriesContext(connection) as queries:
        run()
    return [
        _plan(query["sql"])
        for query in queries.captured_queries
        if needle in query["sql"] and not query["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]


def _uses(plan: str, index: str) -> bool:
    return index in plan and "SCAN cases_case" not in plan and "Seq Scan" not in plan


def test_the_four_indexes_are_partial_and_the_full_ones_are_gone():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Case._meta.db_table)
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
                [Case._meta.db_table],
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
                [Case._meta.db_table],
            )
        definitions = dict(cursor.fetchall())
    for name, (column, unique) in PARTIAL.items():
        assert constraints[name]["columns"] == [column], name
        assert constraints[name]["unique"] is unique, name
        bare = "".join(c for c in definitions[name] if c not in '"()')
        assert bare.endswith(f"WHERE {column} IS NOT NULL"), definitions[name]
    # No other index (nor a UNIQUE column constraint, nor PostgreSQL's LIKE index of a
    # unique CharField) holds any of the four columns.
    for name, info in constraints.items():
        if name in PARTIAL or info.get("foreign_key"):
            continue
        columns = set(info["columns"] or ())
        assert not columns & {column for column, _unique in PARTIAL.values()}, (name, info)


def test_tokens_are_unique_where_set_and_null_anywhere(make_case, category):
    # Many cases without a tracking link or an Open311 token: NULL, NULL, NULL.
    plain = [make_case(tracking=False).case for _ in range(3)]
    assert {c.tracking_hash for c in plain} == {None}
    assert {c.open311_token for c in plain} == {None}
    tracked = make_case().case
    posted = make_case(tracking=False, open311_token=True).case
    assert tracked.tracking_hash and posted.open311_token
    for column, value in (
        ("tracking_hash", tracked.tracking_hash),
        ("open311_token", posted.open311_token),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Case.objects.filter(pk=plain[0].pk).update(**{column: value})
        # The same through the intake's own INSERT (core.sql.insert_row).
        copy = make_case(tracking=False).case
        copy.pk = None
        copy._state.adding = True
        setattr(copy, column, value)
        with pytest.raises(IntegrityError), transaction.atomic():
            copy.save()
    assert Case.objects.filter(tracking_hash=tracked.tracking_hash).count() == 1
    assert Case.objects.filter(open311_token=posted.open311_token).count() == 1


def test_model_validation_reports_a_repeated_token_on_its_field(make_case):
    """Nothing validates a case with full_clean today (the intake makes the tokens), but if
    a form ever does, a repeated token is reported on its field, as unique=True did."""
    tracked = make_case().case
    posted = make_case(tracking=False, open311_token=True).case
    other = make_case(tracking=False).case
    other.tracking_hash = tracked.tracking_hash
    other.open311_token = posted.open311_token
    tokens = ("tracking_hash", "open311_token")
    others = [f.name for f in Case._meta.fields if f.name not in tokens]
    with pytest.raises(ValidationError) as refused:
        other.full_clean(exclude=others)
    assert refused.value.message_dict == {
        "tracking_hash": ["Constraint “cases_tracking_hash_unique” is violated."],
        "open311_token": ["Constraint “cases_open311_token_unique” is violated."],
    }
    other.tracking_hash = other.open311_token = None
    other.full_clean(exclude=others)  # NULLs are never compared


def test_token_lookups_read_the_unique_indexes(make_case):
    tracked = make_case().case
    posted = make_case(tracking=False, open311_token=True).case
    token_of_case = Case.objects.filter(tracking_hash=tracked.tracking_hash)
    # The public tracking page (views._case_for_token) and Open311's token_detail.
    track_page = (
        Case.objects.select_related("category", "department")
        .filter(tracking_hash=tracking_hash("any-token"))
        .order_by("-id")[:1]
    )
    open311 = Case.objects.filter(open311_token=posted.open311_token).order_by("-id")[:1]
    for query, index in (
        (token_of_case, "cases_tracking_hash_unique"),
        (track_page, "cases_tracking_hash_unique"),
        (open311, "cases_open311_token_unique"),
    ):
        sql, params = query.query.sql_with_params()
        plan = _plan(sql, params)
        assert _uses(plan, index), plan


def test_merged_reports_are_read_from_the_duplicate_of_index(make_case):
    original, *merged = (make_case().case for _ in range(3))
    Case.objects.filter(pk__in=[c.pk for c in merged]).update(duplicate_of=original)
    # The detail page's list of merged reports, services.case_void's relink and
    # _tell_followers' query: each WHERE duplicate_of_id = ?.
    queries = [
        original.duplicates.order_by("id")[:50],
        Case.objects.filter(duplicate_of=original),
        Case.objects.filter(duplicate_of=original).exclude(reporter_email="").only("id"),
    ]
    for query in queries:
        assert {c.pk for c in query} <= {c.pk for c in merged}
        sql, params = query.query.sql_with_params()
        plan = _plan(sql, params)
        assert _uses(plan, "cases_duplicate_of"), plan


def test_set_null_on_delete_reads_the_partial_indexes(make_case, dept):
    """Deleting cases or users sets duplicate_of / pending_by to NULL where it pointed at
    them: Django's collector sends UPDATE ... WHERE col IN (...), which the partial index
    serves."""
    originals = [make_case().case for _ in range(2)]
    askers = [make_user(f"asker{n}", "reporter", dept) for n in range(2)]
    merged = []
    for original, asker in zip(originals, askers, strict=True):
        report = make_case().case
        Case.objects.filter(pk=report.pk).update(duplicate_of=original, pending_by=asker)
        merged.append(report.pk)

    def delete(model, objects):
        with transaction.atomic():
            model.objects.filter(pk__in=[o.pk for o in objects]).delete()

    for model, objects, column, index in (
        (type(askers[0]), askers, "pending_by_id", "cases_pending_by"),
        (Case, originals, "duplicate_of_id", "cases_duplicate_of"),
    ):
        plans = _plans_of(partial(delete, model, objects), f'"{column}" IN')
        assert plans and all(_uses(plan, index) for plan in plans), plans
        assert set(Case.objects.filter(pk__in=merged).values_list(column, flat=True)) == {None}
