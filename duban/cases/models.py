"""Cases (有诉即办): the working-day calendar, the service catalogue, cases and their
events. Writes go through services.py; reads through selectors.py."""

from __future__ import annotations

import datetime as dt
import functools
import re

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duban.core import sql


class WorkdayCalendar(models.Model):
    """One year the working-day table covers. A deadline in a year without a row is an
    error, never a weekday guess."""

    class Source(models.TextChoices):
        PACKAGE = "chinese_calendar", _("chinese_calendar package")
        ADMIN = "admin", _("Entered by an administrator")

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("working-day calendar year")
        verbose_name_plural = _("working-day calendar years")

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day that is not what its weekday says: a public holiday (休) on a weekday, or a
    weekend working day (调休, 班). Weekend holidays are stored too, for their names."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=60, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday or adjusted working day")
        verbose_name_plural = _("holidays and adjusted working days")

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class LimitUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")


class ClockStart(models.TextChoices):
    RECEIPT = "receipt", _("at receipt")
    DISPATCH = "dispatch", _("at dispatch")


class Category(models.Model):
    """A service of the catalogue (an Open311 service) with its SLA policy."""

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[
            RegexValidator(r"^[a-z0-9][a-z0-9_-]*$", _("Lower-case letters, digits, - and _"))
        ],
    )
    name = models.CharField(_("name"), max_length=100)
    group = models.CharField(_("group"), max_length=60, blank=True)
    description = models.CharField(_("description"), max_length=400, blank=True)
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    default_department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("default department"),
        on_delete=models.PROTECT,
        related_name="case_categories",
    )
    emergency = models.BooleanField(_("emergency"), default=False)
    service_notice = models.CharField(_("notice to the citizen"), max_length=200, blank=True)
    response_limit = models.PositiveIntegerField(
        _("response limit"), validators=[MinValueValidator(1)]
    )
    response_unit = models.CharField(_("response unit"), max_length=16, choices=LimitUnit.choices)
    resolution_limit = models.PositiveIntegerField(
        _("resolution limit"), validators=[MinValueValidator(1)]
    )
    resolution_unit = models.CharField(
        _("resolution unit"), max_length=16, choices=LimitUnit.choices
    )
    clock_start = models.CharField(
        _("clock starts"), max_length=10, choices=ClockStart.choices, default=ClockStart.RECEIPT
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("service category")
        verbose_name_plural = _("service catalogue")

    def __str__(self) -> str:
        return self.name


class Attribute(models.Model):
    """An extra question of a category (Open311 attribute)."""

    class Datatype(models.TextChoices):
        STRING = "string", _("short text")
        NUMBER = "number", _("number")
        DATETIME = "datetime", _("date and time")
        TEXT = "text", _("long text")
        SINGLE = "singlevaluelist", _("one of a list")
        MULTI = "multivaluelist", _("several of a list")

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="attributes")
    code = models.CharField(
        _("code"), max_length=40, validators=[RegexValidator(r"^[A-Za-z0-9_-]+$")]
    )
    variable = models.BooleanField(_("asks the citizen"), default=True)
    datatype = models.CharField(_("type"), max_length=16, choices=Datatype.choices)
    required = models.BooleanField(_("required"), default=False)
    description = models.CharField(_("question"), max_length=200)
    datatype_description = models.CharField(_("hint"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    values = models.JSONField(
        _("values"), default=list, blank=True, help_text=_('[{"key": "...", "name": "..."}]')
    )

    class Meta:
        ordering = ["category", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="cases_attribute_code_unique")
        ]
        verbose_name = _("attribute")
        verbose_name_plural = _("attributes")

    def __str__(self) -> str:
        return self.code


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    REGISTERED = "registered", _("Registered")
    DISPATCHED = "dispatched", _("Dispatched")
    ACCEPTED = "accepted", _("Accepted")
    RESPONDED = "responded", _("Responded")
    RESOLVED = "resolved", _("Resolved")
    VERIFIED = "verified", _("Verified")
    CLOSED = "closed", _("Closed")
    SUSPENDED = "suspended", _("Suspended")
    VOID = "void", _("Void")


OPEN_STATUSES = (
    Status.RECEIVED,
    Status.REGISTERED,
    Status.DISPATCHED,
    Status.ACCEPTED,
    Status.RESPONDED,
    Status.SUSPENDED,
)
DONE_STATUSES = (Status.RESOLVED, Status.VERIFIED, Status.CLOSED)
# Open with the clock running: the states whose lights can turn yellow or red.
RUNNING_STATUSES = tuple(s for s in OPEN_STATUSES if s != Status.SUSPENDED)


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    HOTLINE = "hotline", _("Hotline 12345")
    OPEN311 = "open311", _("Open311 app")
    API = "api", _("Other system")
    INSPECTION = "inspection", _("Inspector")
    CAMERA = "camera", _("Camera")
    DRONE = "drone", _("Drone")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASIC = "basic", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


class Pending(models.TextChoices):
    RETURN = "return", _("Return (退单)")
    EXTENSION = "extension", _("Extension (延期)")
    SUSPENSION = "suspension", _("Suspension (挂账)")


# Personal data of the reporter: never in public output, Open311 or logs (audit included).
PRIVATE_FIELDS = ("reporter_name", "reporter_phone", "reporter_email")

# Latitude bands of 0.001 degree (about 111 m), for the duplicate check: an index that
# starts with the service and the band seeks each box's few bands of the week, instead of
# reading the service's whole week of cases for every box (selectors.duplicates_of).
LAT_BAND_DIGITS = 3


class LatBand(models.Func):
    """The band of a latitude: round(lat × 10³) as an integer. Plain SQL with its
    constants written out and an integer result, so that the query's expression is the
    index's, word for word, on SQLite too (Round() would bind its digits as a parameter
    and be cast to NUMERIC, and SQLite would not recognise its index)."""

    template = f"CAST(ROUND(%(expressions)s * {10**LAT_BAND_DIGITS}) AS INTEGER)"
    output_field = models.IntegerField()


def lat_band():
    return LatBand("lat")


class Case(models.Model):
    """One citizen request or problem found. Its ticket number is derived from the primary
    key (see ``ticket``), so it is unique without any counter kept in memory."""

    # Each index is one more write in every intake. No index of its own for the category or
    # the department: the indexes that begin with them (cases_cat_received_place,
    # cases_dept_status_id) serve their lookups. The tracking hash, the Open311 token,
    # duplicate_of and pending_by are NULL in most cases: their indexes hold only the rows
    # that have one (see Meta), so an intake writes an entry only for the token it sets.
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    description = models.TextField(_("description"), max_length=4000)
    address = models.CharField(_("address"), max_length=200, blank=True)
    address_id = models.CharField(max_length=60, blank=True)
    zipcode = models.CharField(max_length=12, blank=True)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    long = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    media_url = models.URLField(max_length=500, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # Private: see PRIVATE_FIELDS.
    reporter_name = models.CharField(_("name"), max_length=60, blank=True)
    reporter_phone = models.CharField(_("phone"), max_length=30, blank=True)
    reporter_email = models.EmailField(_("e-mail"), max_length=200, blank=True)

    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    api_client = models.ForeignKey(
        "accounts.ApiClient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    external_id = models.CharField(max_length=80, blank=True)
    # Unique where set (cases_tracking_hash_unique, cases_open311_token_unique): only the
    # public form sets the one and Open311 the other, so most cases index neither.
    tracking_hash = models.CharField(max_length=64, null=True, blank=True)
    open311_token = models.CharField(max_length=40, null=True, blank=True)
    # Indexed where set (cases_duplicate_of): NULL until the case is merged.
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        db_index=False,
    )

    received_at = models.DateTimeField(_("received"))
    registered_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    clock_started_at = models.DateTimeField(null=True, blank=True)
    response_deadline = models.DateTimeField(null=True, blank=True)
    response_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_deadline = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_from = models.CharField(max_length=12, blank=True)

    pending = models.CharField(max_length=12, choices=Pending.choices, blank=True)
    pending_reason = models.CharField(max_length=500, blank=True)
    pending_amount = models.PositiveIntegerField(null=True, blank=True)
    # Indexed where set (cases_pending_by): NULL unless a request waits for approval.
    pending_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    return_count = models.PositiveSmallIntegerField(default=0)
    extension_count = models.PositiveSmallIntegerField(default=0)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    notice_count = models.PositiveSmallIntegerField(default=0)

    result = models.TextField(_("result"), blank=True, max_length=4000)
    status_notes = models.CharField(_("public note"), max_length=500, blank=True)
    satisfaction = models.CharField(max_length=12, choices=Satisfaction.choices, blank=True)
    feedback_solved = models.BooleanField(null=True, blank=True)
    feedback_comment = models.CharField(max_length=500, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    # When the first deadline still to meet passes (the light turns red), or None when the
    # clock is not running (done, void, suspended) or nothing is due. Kept by save() with
    # its OverdueMonth count and, after bulk loads, by overdue_at_refresh().
    overdue_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The street office or road the address names (street_of), for hot spots; kept by save().
    street = models.CharField(max_length=20, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["status", "id"], name="cases_status_id"),
            models.Index(fields=["department", "status", "id"], name="cases_dept_status_id"),
            models.Index(fields=["received_at"], name="cases_received"),
            # Covers the duplicate check's box: the desk tests each new case's neighbours
            # inside the index.
            models.Index(
                fields=["category", "received_at", "lat", "long"], name="cases_cat_received_place"
            ),
            # The same boxes by latitude band: a few short ranges per box at any volume.
            models.Index(
                F("category"),
                lat_band(),
                F("received_at"),
                F("lat"),
                F("long"),
                name="cases_cat_band_received",
            ),
            models.Index(fields=["resolution_deadline"], name="cases_res_deadline"),
            models.Index(fields=["address", "category", "received_at"], name="cases_address"),
            # Running cases only, in the order they turn red: the overdue cases of the
            # current month are a short range of it (see OverdueMonth).
            models.Index(
                fields=["overdue_at", "department", "street"],
                name="cases_overdue_street",
                condition=Q(overdue_at__isnull=False),
            ),
            # Foreign keys that are NULL in almost every case: the rows that have one only,
            # so that an intake writes no entry for them. `duplicate_of_id = ?` and
            # `pending_by_id IN (...)` (SET_NULL on delete) imply the condition, and both
            # databases use the index for them (tests/cases/test_partial_indexes.py).
            models.Index(
                fields=["duplicate_of"],
                name="cases_duplicate_of",
                condition=Q(duplicate_of__isnull=False),
            ),
            models.Index(
                fields=["pending_by"],
                name="cases_pending_by",
                condition=Q(pending_by__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["api_client", "external_id"],
                condition=~Q(external_id=""),
                name="cases_external_id_unique",
            ),
            # NULLs were never compared for uniqueness; now they are not indexed either. The
            # "unique" code files full_clean's error under the field, as unique=True did.
            models.UniqueConstraint(
                fields=["tracking_hash"],
                condition=Q(tracking_hash__isnull=False),
                name="cases_tracking_hash_unique",
                violation_error_code="unique",
            ),
            models.UniqueConstraint(
                fields=["open311_token"],
                condition=Q(open311_token__isnull=False),
                name="cases_open311_token_unique",
                violation_error_code="unique",
            ),
        ]

    def __str__(self) -> str:
        return self.ticket

    # The stored (overdue_at, department_id, street): what save() moves the case's overdue
    # count out of. Kept as loaded, the bucket derived only when a save needs it.
    _BUCKET_FIELDS = ("overdue_at", "department_id", "street")

    @classmethod
    def from_db(cls, db, field_names, values):
        case = super().from_db(db, field_names, values)
        case._remember_bucket_fields()
        return case

    def _remember_bucket_fields(self) -> None:
        # From __dict__: a field deferred in this instance is not loaded for this.
        loaded = self.__dict__
        if all(name in loaded for name in self._BUCKET_FIELDS):
            self._stored_bucket = tuple(loaded[name] for name in self._BUCKET_FIELDS)
        else:
            self.__dict__.pop("_stored_bucket", None)

    def _stored_overdue_key(self):
        """The bucket the stored row counts in (None for a new row): what save() moves the
        case out of. Read from the database when this instance was loaded without it."""
        if self._state.adding:
            return None
        stored = self.__dict__.get("_stored_bucket")
        if stored is None:
            stored = Case.objects.filter(pk=self.pk).values_list(*self._BUCKET_FIELDS).first()
        return None if stored is None else bucket_of(*stored)

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        fields = kwargs.get("fields", args[1] if len(args) > 1 else None)
        if fields is None or set(fields) & {"overdue_at", "department", "department_id", "street"}:
            self._remember_bucket_fields()

    def save(self, *args, **kwargs):
        self.overdue_at = overdue_at_of(self)
        self.street = street_of(self.address)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "overdue_at", "street"}
        before, after = self._stored_overdue_key(), overdue_key(self)
        # No savepoint inside the services' transactions: a case write stays one round trip.
        with transaction.atomic(savepoint=False):
            # A new case (every intake) is inserted in plain SQL, the same row the ORM writes.
            if args or kwargs or not sql.insert_row(self):
                super().save(*args, **kwargs)
            if before != after:
                overdue_month_apply(before, after)
        self._remember_bucket_fields()

    @property
    def ticket(self) -> str:
        """YYYYMMDD-<id>: the day of receipt (local) and the primary key."""
        return ticket_for(self.pk, self.received_at)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def overdue_at_of(case: Case) -> dt.datetime | None:
    """The moment the case turns red: the earlier of the response deadline (if not yet
    responded) and the resolution deadline (if not yet resolved), while the clock runs."""
    if case.status not in RUNNING_STATUSES:
        return None
    due = [
        deadline
        for deadline, done in (
            (case.response_deadline, case.responded_at),
            (case.resolution_deadline, case.resolved_at),
        )
        if deadline is not None and done is None
    ]
    return min(due) if due else None


def overdue_at_expression():
    """overdue_at_of in SQL, for rows written without save() (bulk loads)."""
    from django.db.models import Case as SqlCase
    from django.db.models import F, When
    from django.db.models.functions import Coalesce, Least

    response = SqlCase(When(responded_at__isnull=True, then=F("response_deadline")), default=None)
    resolution = SqlCase(
        When(resolved_at__isnull=True, then=F("resolution_deadline")), default=None
    )
    # LEAST ignores NULLs on PostgreSQL but not on SQLite: pair each with the other.
    earlier = Least(Coalesce(response, resolution), Coalesce(resolution, response))
    return SqlCase(
        When(status__in=RUNNING_STATUSES, then=earlier),
        default=None,
        output_field=models.DateTimeField(),
    )


def overdue_at_refresh(queryset=None) -> int:
    """Recompute overdue_at in the database, and the OverdueMonth counts, for cases
    written by bulk INSERTs."""
    queryset = Case.objects.all() if queryset is None else queryset
    changed = queryset.update(overdue_at=overdue_at_expression())
    streets_fill(queryset.filter(street="").exclude(address=""))
    overdue_month_rebuild()
    return changed


def streets_fill(queryset, *, model=None) -> None:
    """Set `street` from the address where a bulk load left it empty (it takes a Python
    regular expression, not SQL)."""
    from collections import defaultdict

    model = model or Case
    by_street: dict[str, list[int]] = defaultdict(list)
    for pk, address in queryset.values_list("pk", "address").iterator(chunk_size=5000):
        street = street_of(address)
        if street:
            by_street[street].append(pk)
    for street, ids in by_street.items():
        for start in range(0, len(ids), 5000):
            model.objects.filter(pk__in=ids[start : start + 5000]).update(street=street)


# Where a case is, for hot spots: the street office or town (街道, 办事处, 镇, 乡) when the
# address names one, else the road before the house number (祥盛街239号 -> 祥盛街).
STREET = re.compile(r"([\u4e00-\u9fff]{2,8}?(?:街道|办事处|镇|乡))")
ROAD = re.compile(r"^[^0-9０-９]{2,20}?(?=[0-9０-９]|$)")


@functools.lru_cache(maxsize=65536)
def street_of(address: str) -> str:
    # Cached: overdue counts name the street of the same few thousand addresses on every
    # view of the cockpit and the desk.
    address = (address or "").strip()
    match = STREET.search(address)
    if match:
        return match.group(1)
    match = ROAD.match(address)
    return match.group(0).strip() if match else address[:20]


OverdueKey = tuple[dt.date, int, str]  # month, department id (0: none), street


def bucket_of(overdue_at, department_id, street) -> OverdueKey | None:
    """The OverdueMonth bucket a case with these values counts in."""
    if overdue_at is None:
        return None
    month = timezone.localtime(overdue_at).date().replace(day=1)
    return (month, department_id or 0, street)


def overdue_key(case: Case) -> OverdueKey | None:
    return bucket_of(case.overdue_at, case.department_id, case.street)


def overdue_month_apply(before: OverdueKey | None, after: OverdueKey | None) -> None:
    """Move a case's count from one bucket to another, rows in key order (one lock order
    for every writer)."""
    changes = sorted([(key, delta) for key, delta in ((before, -1), (after, 1)) if key is not None])
    for (month, department, street), delta in changes:
        sql.add_to_row(
            OverdueMonth,
            key={
                "month": month,
                "department_key": department,
                "street": street,
            },
            delta={"n": delta},
        )


def overdue_month_rebuild() -> None:
    """Recount every bucket from the cases (after a bulk load)."""
    from collections import Counter

    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    counts: Counter = Counter()
    rows = (
        Case.objects.filter(overdue_at__isnull=False)
        .annotate(month=TruncMonth("overdue_at"))
        .values_list("month", "department_id", "street")
        .annotate(n=Count("id"))
        .order_by()
    )
    for month, department, street, n in rows:
        month = month.date() if isinstance(month, dt.datetime) else month
        counts[(month, department or 0, street)] += n
    with transaction.atomic():
        OverdueMonth.objects.all().delete()
        OverdueMonth.objects.bulk_create(
            OverdueMonth(month=m, department_key=d, street=s, n=n)
            for (m, d, s), n in counts.items()
        )


def overdue_counts(now: dt.datetime) -> tuple[dict[int | None, int], dict[str, int]]:
    """Overdue cases as of `now` by department (None: not dispatched yet) and by street:
    the months before now's from OverdueMonth, the current month from the range of the
    overdue index up to now. The work follows the months and one month's cases due, not
    the number of cases."""
    from collections import Counter

    from django.db.models import Count, Sum

    local = timezone.localtime(now)
    month = local.date().replace(day=1)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    by_department: Counter = Counter()
    by_street: Counter = Counter()
    past = (
        OverdueMonth.objects.filter(month__lt=month)
        .values_list("department_key", "street")
        .annotate(total=Sum("n"))
        .order_by()
    )
    for department, street, n in past:
        by_department[department or None] += n
        by_street[street] += n
    current = (
        Case.objects.filter(overdue_at__gte=start, overdue_at__lte=now)
        .values_list("department_id", "street")
        .annotate(n=Count("id"))
        .order_by()
    )
    for department, street, n in current:
        by_department[department] += n
        by_street[street] += n
    return (
        {k: v for k, v in by_department.items() if v},
        {k: v for k, v in by_street.items() if v and k},
    )


class OverdueMonth(models.Model):
    """How many running cases turn red in a month (local), per handling department and
    street: what overdue counts add up for the months before the current one. Kept by
    Case.save() in the case's transaction; rebuilt by overdue_month_rebuild()."""

    month = models.DateField()
    department_key = models.IntegerField()  # the department's id, 0 when not dispatched
    street = models.CharField(max_length=40, blank=True)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "department_key", "street"], name="cases_overdue_month_key"
            )
        ]
        verbose_name = _("overdue cases by month")
        verbose_name_plural = _("overdue cases by month")


def ticket_for(pk: int, received_at: dt.datetime) -> str:
    return f"{timezone.localtime(received_at):%Y%m%d}-{pk}"


def parse_ticket(ticket: str) -> tuple[dt.date, int] | None:
    """'20220930-123' -> (date, 123); None when it is not a ticket number."""
    day, sep, number = (ticket or "").strip().partition("-")
    if not sep or len(day) != 8 or not day.isdigit() or not number.isdigit() or len(number) > 12:
        return None
    try:
        return dt.date(int(day[:4]), int(day[4:6]), int(day[6:])), int(number)
    except ValueError:
        return None


EVENT_LABELS = {
    "received": _("Received"),
    "register": _("Registered"),
    "dispatch": _("Dispatched"),
    "accept": _("Accepted by the department"),
    "respond": _("Citizen contacted"),
    "resolve": _("Resolved"),
    "verify": _("Verified"),
    "send_back": _("Sent back to the department"),
    "close": _("Closed"),
    "request_return": _("Return requested"),
    "request_extension": _("Extension requested"),
    "request_suspension": _("Suspension requested"),
    "approve_return": _("Returned to the centre"),
    "approve_extension": _("Deadline extended"),
    "approve_suspension": _("Suspended"),
    "refuse_return": _("Return refused"),
    "refuse_extension": _("Extension refused"),
    "refuse_suspension": _("Suspension refused"),
    "resume": _("Resumed"),
    "void": _("Void"),
    "merge": _("Handled together with an earlier report of the same problem"),
    "merged": _("A later report of the same problem joined this case"),
    "notice": _("Supervision notice"),
    "feedback": _("Citizen feedback"),
    "reopen": _("Reopened"),
}


class CaseEvent(models.Model):
    """One step of a case: who did what, when, with what note."""

    # Looked up through cases_event_case_at, which begins with the case.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=24)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=1000, blank=True)
    public = models.BooleanField(default=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="cases_event_case_at")]

    @property
    def label(self):
        return EVENT_LABELS.get(self.kind, self.kind)


class CasePhoto(models.Model):
    class Stage(models.TextChoices):
        INTAKE = "intake", _("With the request")
        RESULT = "result", _("Of the result")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(max_length=8, choices=Stage.choices)
    file = models.FileField(upload_to="cases/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()


class CaseDayStat(models.Model):
    """The incremental daily roll-up of the case KPIs (``duban.cases.rollup``): one row per
    day of receipt (local date), category, department (none before dispatch) and channel.
    ``received`` and ``void`` count every case; the other counters count the cases that are
    not void, with the meanings of ``selectors.kpis``. Every write of a case adds the change
    of its contribution in the same transaction, so the cockpit never scans the cases."""

    day = models.DateField()
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=12, choices=Channel.choices)
    received = models.IntegerField(default=0)
    void = models.IntegerField(default=0)
    dispatched = models.IntegerField(default=0)
    responded_in_time = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    resolved_in_time = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basic = models.IntegerField(default=0)
    solved_answered = models.IntegerField(default=0)
    solved = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)
    extended = models.IntegerField(default=0)
    repeats = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("daily case statistics")
        verbose_name_plural = _("daily case statistics")
        # Covering: the volume by day is read from the index alone.
        indexes = [models.Index(fields=["day", "received"], name="cases_daystat_day_received")]
        constraints = [
            # Two partial unique indexes: a NULL department must be unique too, and
            # NULLS NOT DISTINCT is PostgreSQL 15+ only (SQLite has none).
            models.UniqueConstraint(
                fields=["day", "category", "department", "channel"],
                condition=Q(department__isnull=False),
                name="cases_daystat_key",
            ),
            models.UniqueConstraint(
                fields=["day", "category", "channel"],
                condition=Q(department__isnull=True),
                name="cases_daystat_key_nodept",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.category_id} {self.department_id} {self.channel}"
