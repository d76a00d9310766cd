"""Cases at scale: a fast, deterministic bulk generator for benchmarks.

    from bench.cases_scale import build_cases
    build_cases(1_000_000)                      # about 2 minutes on SQLite, 2 cores

``build_cases(n, *, year=2022, as_of=date(2022, 9, 30), seed=1, events="open")`` adds
``n`` cases, received between 1 January of ``year`` and ``as_of`` (seasonal by service
like the demo: heating in winter, noise in summer; busier on weekdays and in the last
20 days), each as it stands at the end of ``as_of`` (the time ``duban.clock.now()`` gives
when the clock is pinned to that day):

- most are closed, verified or resolved, 7 % answered late and 8 % resolved late;
- 2 % void (invalid or duplicate), 3 % returned once (退单) and dispatched again, 4 % extended;
- a few percent are open: the newest ones still moving through the steps, and 2 % of all
  "forgotten" after the response, which turn red; of the open ones, some wait for the
  centre's decision on a return (5 % of dispatched), an extension (4 %) or a suspension
  (2 % of accepted or responded), and 2 % are suspended (挂账).

Deadlines and their yellow points (``*_warn_at``) are those ``WorkCalendar`` computes
from the working-day table, so the lights (``duban.cases.lights``) and the KPIs see a
consistent picture; tests/cases/test_desk_scale.py checks them against ``WorkCalendar``.

The caller has set Django up and migrated the database. ``build_cases`` creates what it
needs if it is missing (the demo's departments, its service catalogue and the demo
generator's API client, which marks the generated cases) and appends: calling it twice
adds ``n`` more cases after the existing ones, with new ids (give another ``seed`` for
different cases). Everything is written in one transaction, with bulk INSERTs
(executemany on SQLite, COPY on PostgreSQL) and without audit entries.

``events``: ``"open"`` (default) writes the timeline (``CaseEvent`` rows) of the cases
still open at ``as_of`` — the ones the desk, the queues and the detail pages are about;
``"all"`` writes every case's timeline (about 7 events a case: slower, bigger);
``"none"`` writes none.

Why not ``duban.cases.demo._one``: it asks ``WorkCalendar`` for every deadline (about
260 µs a case, over 4 minutes for 1,000,000 before any INSERT). This module computes the
same working time from one cumulative table of working minutes, built from the same
``WorkCalendar`` and ``conf.WORKING_HOURS``, and reuses the demo's catalogue, streets,
channels and helpers.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from bisect import bisect_left, bisect_right
from itertools import accumulate

__all__ = ["build_cases", "ScaleCalendar"]

DAY = 86_400
MINUTE = 60
HORIZON_DAYS = 120  # deadlines may run this far past as_of (15 working days + extension)
BATCH = 20_000


class ScaleCalendar:
    """Working time of ``WorkCalendar`` as arithmetic on seconds since local midnight of
    1 January of ``year`` (Asia/Shanghai has no daylight saving, so local seconds are
    plain seconds). Valid for whole-minute starts, which is all the generator uses."""

    def __init__(self, year: int, last_day: dt.date):
        from django.utils import timezone

        from duban.cases import conf
        from duban.cases.workdays import WorkCalendar

        calendar = WorkCalendar()
        self.tz = timezone.get_default_timezone()
        self.first_day = dt.date(year, 1, 1)
        self.t0 = dt.datetime.combine(self.first_day, dt.time.min, tzinfo=self.tz)
        self.share = conf.YELLOW_PERCENT / 100
        periods = [(b.hour * 60 + b.minute, e.hour * 60 + e.minute) for b, e in calendar.periods]
        self.day_end = periods[-1][1] * MINUTE
        days = (last_day - self.first_day).days + 1
        marks = bytearray(days * 1440)
        self.workdays: list[int] = []
        for index in range(days):
            if calendar.is_workday(self.first_day + dt.timedelta(days=index)):
                self.workdays.append(index)
                for begin, end in periods:
                    marks[index * 1440 + begin : index * 1440 + end] = b"\x01" * (end - begin)
        # cumulative[m]: working minutes in [0, m)
        self.cumulative = [0, *accumulate(marks)]
        self.limit = days * DAY

    def _check(self, seconds: float) -> None:
        if not 0 <= seconds < self.limit:
            raise ValueError("outside the generated calendar")

    def working(self, start: float, end: float) -> float:
        """Working seconds between two whole-minute moments."""
        if end <= start:
            return 0.0
        c = self.cumulative
        return (c[int(end // MINUTE)] - c[int(start // MINUTE)]) * MINUTE

    def add_working(self, start: float, seconds: float) -> float:
        """The moment `seconds` of working time after a whole-minute `start`."""
        c = self.cumulative
        minute = int(start // MINUTE)
        target = c[minute] + seconds / MINUTE
        j = bisect_left(c, target, minute + 1)
        if j >= len(c):
            raise ValueError("outside the generated calendar")
        return ((j - 1) + (target - c[j - 1])) * MINUTE

    def deadline(self, start: float, amount: int, unit: str) -> float:
        if unit == "hours":
            return start + amount * 3600
        if unit == "working_hours":
            return self.add_working(start, amount * 3600)
        day = int(start // DAY)
        index = bisect_right(self.workdays, day) + amount - 1
        return self.workdays[index] * DAY + self.day_end

    def warn_at(self, start: float, deadline: float, unit: str) -> float:
        if unit == "hours":
            return start + (deadline - start) * self.share
        total = self.working(start, deadline)
        if total <= 0:
            return deadline
        return min(deadline, self.add_working(start, total * self.share))

    def moment(self, seconds: float) -> dt.datetime:
        return self.t0 + dt.timedelta(seconds=seconds)


def _cumulative(weights):
    return list(accumulate(weights))


def _draw(rng_random, cum):
    return bisect_right(cum, rng_random() * cum[-1])


def build_cases(
    n: int,
    *,
    year: int = 2022,
    as_of: dt.date = dt.date(2022, 9, 30),
    seed: int = 1,
    events: str = "open",
) -> None:
    """Add `n` cases received from 1 January of `year` to `as_of`, as they stand at the
    end of `as_of` (see the module docstring)."""
    from django.db import connection, transaction
    from django.db.models import Max

    from duban.accounts.models import ApiClient
    from duban.cases import demo
    from duban.cases.models import Case, CaseEvent, overdue_at_refresh
    from duban.demo import demo_departments

    if n < 0:
        raise ValueError("n must be at least 0")
    if events not in ("open", "all", "none"):
        raise ValueError("events must be 'open', 'all' or 'none'")
    if as_of < dt.date(year, 1, 1):
        raise ValueError("as_of must not be before 1 January of year")
    last_received_day = min(as_of, dt.date(year, 12, 31))
    with transaction.atomic():
        departments = demo_departments()
        categories = demo.demo_catalogue(departments)
        generator = demo._client(demo.GENERATOR, ApiClient.Scope.CASES)
        if generator.is_active:  # it only marks generated cases; nobody may use it
            ApiClient.objects.filter(pk=generator.pk).update(is_active=False)
        if n == 0:
            return
        calendar = ScaleCalendar(year, as_of + dt.timedelta(days=HORIZON_DAYS))
        next_case = (Case.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        next_event = (CaseEvent.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        writer = _Writer(connection, calendar)
        generate = _Generator(
            calendar=calendar,
            categories=categories,
            generator_id=generator.pk,
            now=(as_of - calendar.first_day).days * DAY + DAY - 1,
            received_days=(last_received_day - calendar.first_day).days + 1,
            as_of=as_of,
            seed=seed,
            events=events,
        )
        first_case = next_case
        case_fields = [f.attname for f in Case._meta.concrete_fields]
        event_fields = [f.attname for f in CaseEvent._meta.concrete_fields]
        made = 0
        while made < n:
            size = min(BATCH, n - made)
            cases, lives = generate.batch(size, next_case, next_event)
            next_case += size
            next_event += len(lives)
            writer.write(Case, case_fields, cases)
            if lives:
                writer.write(CaseEvent, event_fields, lives)
            made += size
        demo._reset_sequences(Case, CaseEvent)
        # What save() keeps for every case: when it turns red.
        overdue_at_refresh(Case.objects.filter(id__gte=first_case))


class _Writer:
    """Rows as tuples in the models' field order; times as seconds since the calendar's
    t0 (converted here, once per value, to what the backend stores)."""

    def __init__(self, connection, calendar: ScaleCalendar):
        self.connection = connection
        self.vendor = connection.vendor
        # Whole seconds, formatted as the backend stores them (SQLite: naive UTC text, the
        # format Django gives its parameters; PostgreSQL: text with the offset, for COPY),
        # with the text up to the minute cached.
        utc0 = calendar.t0.astimezone(dt.UTC).replace(tzinfo=None)
        suffix = "" if self.vendor == "sqlite" else "+00"
        minutes: dict[int, str] = {}

        def convert(seconds):
            minute, second = divmod(int(seconds), 60)
            text = minutes.get(minute)
            if text is None:
                text = minutes[minute] = str(utc0 + dt.timedelta(minutes=minute))[:-2]
            return f"{text}{second:02d}{suffix}"

        self.time = convert

    def write(self, model, fields, rows) -> None:
        from django.db.models import DateTimeField

        times = [
            i for i, f in enumerate(model._meta.concrete_fields) if isinstance(f, DateTimeField)
        ]
        convert = self.time
        for row in rows:
            for i in times:
                if row[i] is not None:
                    row[i] = convert(row[i])
        ops = self.connection.ops
        table = ops.quote_name(model._meta.db_table)
        columns = ", ".join(ops.quote_name(f.column) for f in model._meta.concrete_fields)
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(fields))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


class _Generator:
    def __init__(
        self, *, calendar, categories, generator_id, now, received_days, as_of, seed, events
    ):
        from duban.cases import demo
        from duban.cases.models import Case, CaseEvent

        self.calendar = calendar
        self.now = now
        self.events = events
        self.rng = random.Random(f"cases_scale/{seed}")
        first = calendar.first_day
        days = [first + dt.timedelta(days=i) for i in range(received_days)]
        last20 = as_of - dt.timedelta(days=20)
        self.day_cum = _cumulative(
            demo.MONTH_VOLUME[d.month - 1]
            * (0.7 if d.weekday() >= 5 else 1.0)
            * (1.6 if d > last20 else 1.0)
            for d in days
        )
        self.rows = list(demo.CATALOGUE)
        self.month_cum = [_cumulative(r[10] * r[9][m] for r in self.rows) for m in range(12)]
        self.day_month = [d.month - 1 for d in days]
        self.hour_cum = _cumulative(
            [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 11, 8, 9, 11, 12, 11, 10, 9, 8, 7, 5, 3, 2]
        )
        self.channels = [c for c, _w in demo.CHANNELS]
        self.channel_cum = _cumulative(w for _c, w in demo.CHANNELS)
        self.streets = demo.STREETS
        self.policy = []
        for row in self.rows:
            category = categories[row[0]]
            self.policy.append(
                (
                    category.pk,
                    category.default_department_id,
                    category.clock_start == "receipt",
                    category.response_limit,
                    category.response_unit,
                    category.resolution_limit,
                    category.resolution_unit,
                    row[0] == "noise",
                    row[11],
                )
            )
        defaults = {}
        for field in Case._meta.concrete_fields:
            defaults[field.attname] = None if field.primary_key else field.get_default()
        defaults["api_client_id"] = generator_id
        defaults["attributes"] = "{}"
        fields = [f.attname for f in Case._meta.concrete_fields]
        self.case_template = [defaults[f] for f in fields]
        self.i = {name: k for k, name in enumerate(fields)}
        event_fields = [f.attname for f in CaseEvent._meta.concrete_fields]
        self.e = {name: k for k, name in enumerate(event_fields)}
        event_defaults = {f.attname: f.get_default() for f in CaseEvent._meta.concrete_fields}
        event_defaults["id"] = None
        self.event_template = [event_defaults[f] for f in event_fields]
        self.actors = demo.ACTORS
        self.noise_when = [json.dumps({"when": w}) for w in ("day", "night", "night")]

    def batch(self, size, first_id, first_event):
        cases, events = [], []
        for k in range(size):
            row, life, is_open = self.one(first_id + k)
            cases.append(row)
            if life and (self.events == "all" or (self.events == "open" and is_open)):
                for kind, at, status, department_id in life:
                    event = self.event_template.copy()
                    e = self.e
                    event[e["id"]] = first_event + len(events)
                    event[e["case_id"]] = row[self.i["id"]]
                    event[e["kind"]] = kind
                    event[e["at"]] = at
                    event[e["actor_label"]] = self.actors.get(kind, "department")
                    event[e["to_status"]] = status
                    event[e["department_id"]] = department_id
                    events.append(event)
        return cases, events

    def one(self, case_id):  # one case's life, step by step, like demo._one
        rng = self.rng
        rand = rng.random

        def randint(a, b):
            return a + int(rand() * (b - a + 1))

        cal = self.calendar
        now = self.now
        i = self.i
        row = self.case_template.copy()
        day = _draw(rand, self.day_cum)
        which = _draw(rand, self.month_cum[self.day_month[day]])
        (category_id, department, receipt, r_amount, r_unit, s_amount, s_unit, noise, problems) = (
            self.policy[which]
        )
        received = day * DAY + _draw(rand, self.hour_cum) * 3600 + randint(0, 59) * MINUTE
        if received > now:
            received = now + 1 - randint(1, 600) * MINUTE
        street = self.streets[int(rand() * len(self.streets))]
        address = f"{street}{randint(1, 300)}号"
        row[i["id"]] = case_id
        row[i["category_id"]] = category_id
        row[i["channel"]] = self.channels[_draw(rand, self.channel_cum)]
        row[i["description"]] = f"{address}附近{problems[int(rand() * len(problems))]}。"
        row[i["address"]] = address
        row[i["lat"]] = round(34.74 + rand() * 0.06, 6)
        row[i["long"]] = round(113.70 + rand() * 0.08, 6)
        if noise:
            row[i["attributes"]] = self.noise_when[int(rand() * 3)]
        if rand() >= 0.3:
            row[i["reporter_name"]] = "王李张刘陈杨赵黄周吴"[int(rand() * 10)] + (
                "先生" if rand() < 0.5 else "女士"
            )
        if rand() >= 0.2:
            row[i["reporter_phone"]] = f"139{randint(10_000_000, 99_999_999)}"
        row[i["external_id"]] = ""
        row[i["received_at"]] = received
        life = [("received", received, "received", None)]
        state = {"status": "received", "updated": received, "department": None}

        def step(kind, at, status):
            life.append((kind, at, status, state["department"]))
            state["status"] = status
            state["updated"] = at

        def deadlines(start):
            row[i["clock_started_at"]] = start
            response = cal.deadline(start, r_amount, r_unit)
            resolution = cal.deadline(start, s_amount, s_unit)
            row[i["response_deadline"]] = response
            row[i["response_warn_at"]] = cal.warn_at(start, response, r_unit)
            row[i["resolution_deadline"]] = resolution
            row[i["resolution_warn_at"]] = cal.warn_at(start, resolution, s_unit)

        def finish(is_open):
            row[i["status"]] = state["status"]
            row[i["updated_at"]] = state["updated"]
            row[i["department_id"]] = state["department"]
            if is_open:
                self.requests(row, life, state)
            return row, life, is_open

        if receipt:
            deadlines(received)
        registered = received + randint(2, 40) * MINUTE
        if registered > now:
            return finish(True)
        row[i["registered_at"]] = registered
        step("register", registered, "registered")
        if rand() < 0.02:
            voided = registered + 5 * MINUTE
            row[i["status_notes"]] = "重复件，已合并办理" if rand() < 0.6 else "无效诉求"
            if voided <= now:
                row[i["closed_at"]] = voided
                step("void", voided, "void")
                return finish(False)
            return finish(True)
        dispatched = registered + randint(3, 120) * MINUTE
        if dispatched > now:
            return finish(True)
        state["department"] = department
        row[i["dispatched_at"]] = dispatched
        if not receipt:
            deadlines(dispatched)
        step("dispatch", dispatched, "dispatched")
        if rand() < 0.03:
            row[i["return_count"]] = 1
            life.append(("approve_return", dispatched + 30 * MINUTE, "registered", department))
            dispatched += randint(40, 240) * MINUTE
            if dispatched > now:
                state["status"] = "registered"
                state["department"] = None
                row[i["dispatched_at"]] = None
                return finish(True)
            row[i["dispatched_at"]] = dispatched
            step("dispatch", dispatched, "dispatched")
        response = row[i["response_deadline"]]
        span = response - row[i["clock_started_at"]]
        accepted = dispatched + min(span * 0.3, randint(5, 90) * MINUTE)
        if accepted > now:
            return finish(True)
        row[i["accepted_at"]] = accepted
        step("accept", accepted, "accepted")
        if rand() < 0.07 or response <= accepted:
            responded = max(response, accepted) + randint(10, 600) * MINUTE
        else:
            responded = accepted + (response - accepted) * (0.1 + 0.85 * rand())
        if responded > now:
            return finish(True)
        row[i["responded_at"]] = responded
        step("respond", responded, "responded")
        if rand() < 0.04:
            row[i["extension_count"]] = 1
            extended = cal.deadline(
                row[i["resolution_deadline"]], 3 if s_unit == "working_days" else 12, s_unit
            )
            row[i["resolution_deadline"]] = extended
            row[i["resolution_warn_at"]] = cal.warn_at(row[i["clock_started_at"]], extended, s_unit)
            life.append(("approve_extension", responded + 7200, "responded", department))
        if rand() < 0.02:  # forgotten: turns red
            return finish(True)
        resolution = row[i["resolution_deadline"]]
        if rand() < 0.08 or resolution <= responded:
            resolved = max(resolution, responded) + randint(2, 96) * 3600
        else:
            resolved = responded + (resolution - responded) * (0.05 + 0.93 * rand())
        if resolved > now:
            return finish(True)
        row[i["resolved_at"]] = resolved
        result = (
            "已到现场核查处理，问题已解决。"
            if rand() < 0.85
            else "已答复诉求人相关政策及办理途径。"
        )
        row[i["result"]] = row[i["status_notes"]] = result
        step("resolve", resolved, "resolved")
        feedback = resolved + randint(2, 72) * 3600
        verified = None
        if rand() < 0.65 and feedback <= now:
            x = rand()
            answer = "satisfied" if x < 0.74 else "basic" if x < 0.92 else "dissatisfied"
            row[i["satisfaction"]] = answer
            row[i["feedback_solved"]] = answer != "dissatisfied" or rand() < 0.2
            row[i["feedback_at"]] = feedback
            if answer == "dissatisfied" and rand() < 0.5:
                row[i["reopen_count"]] = 1
            if answer != "dissatisfied":
                verified = feedback
                row[i["verified_at"]] = verified
                step("feedback", feedback, "verified")
            else:
                life.append(("feedback", feedback, "resolved", department))
        if verified is None:
            verified = resolved + DAY
            if verified > now:
                return finish(False)
            row[i["verified_at"]] = verified
            step("verify", verified, "verified")
        closed = verified + 2 * DAY
        if closed <= now:
            row[i["closed_at"]] = closed
            step("close", closed, "closed")
        return finish(False)

    def requests(self, row, life, state):
        """Open cases: some wait for the centre's decision, some are suspended."""
        rand = self.rng.random
        i = self.i
        status = state["status"]
        if status == "dispatched":
            if rand() < 0.05:
                at = state["updated"] + 20 * MINUTE
                if at <= self.now:
                    row[i["pending"]] = "return"
                    row[i["pending_reason"]] = "不属于本单位职责范围"
                    life.append(("request_return", at, "dispatched", state["department"]))
        elif status in ("accepted", "responded"):
            x = rand()
            at = state["updated"] + 30 * MINUTE
            if at > self.now:
                return
            if x < 0.04:
                row[i["pending"]] = "extension"
                row[i["pending_amount"]] = 3
                row[i["pending_reason"]] = "需协调多个部门，申请延期"
                life.append(("request_extension", at, status, state["department"]))
            elif x < 0.06:
                row[i["pending"]] = "suspension"
                row[i["pending_reason"]] = "等待上级政策答复"
                life.append(("request_suspension", at, status, state["department"]))
            elif x < 0.08:
                row[i["status"]] = "suspended"
                row[i["suspended_from"]] = status
                row[i["suspended_at"]] = at
                row[i["updated_at"]] = at
                life.append(("approve_suspension", at, "suspended", state["department"]))
