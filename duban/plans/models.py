from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Measure(models.TextChoices):
    LEVEL = "level", _("Level")
    GROWTH = "growth", _("Growth")
    SHARE = "share", _("Share")
    MILESTONE = "milestone", _("Milestone")


class Comparator(models.TextChoices):
    EQ = "eq", _("reach")
    GE = "ge", _("at least")
    GT = "gt", _("more than")
    LE = "le", _("at most")
    LT = "lt", _("less than")
    BETWEEN = "between", _("between")
    ABOUT = "about", _("about")


class Stance(models.TextChoices):
    TARGET = "target", _("Target")
    ACTUAL = "actual", _("Actual")


class Figure(models.Model):
    """What a figure says: measured how, compared how, how much, by when."""

    measure = models.CharField(_("measure"), max_length=12, choices=Measure.choices)
    comparator = models.CharField(
        _("comparator"), max_length=8, choices=Comparator.choices, null=True, blank=True
    )
    # Base units: 1400亿元 is 140000000000 元, so amounts need many digits.
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=4, null=True, blank=True)
    upper = models.DecimalField(
        _("upper bound"), max_digits=24, decimal_places=4, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=20, null=True, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)

    class Meta:
        abstract = True


class Cadence(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")


class DataSource(models.TextChoices):
    MANUAL = "manual", _("Reported by hand")
    COMPUTED = "computed", _("Computed by Duban")


class PaceProfile(models.TextChoices):
    LINEAR = "linear", _("Linear in days")
    SEASONAL = "seasonal", _("Seasonal (last year's monthly shares)")
    PLAN = "plan", _("Monthly plan")


class Plan(models.Model):
    """One year's plan of a district (年度工作计划)."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    title = models.CharField(_("title"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # Status thresholds are settings of the plan (../shared/spec/status-rules.md).
    yellow_ratio = models.DecimalField(
        _("yellow from"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.99"))],
        help_text=_("Share of the expected progress that is still yellow; below it is red."),
    )
    milestone_red_days = models.PositiveSmallIntegerField(
        _("milestone red after (days)"), default=90
    )
    report_grace_days = models.PositiveSmallIntegerField(
        _("report due (days after period end)"), default=5
    )

    class Meta:
        ordering = ["-year"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def thresholds(self):
        """The plan's status thresholds, as pace judges with them."""
        from duban.plans.pace import Thresholds

        return Thresholds(
            yellow_ratio=self.yellow_ratio,
            milestone_red_days=self.milestone_red_days,
            report_grace_days=self.report_grace_days,
        )

    def __str__(self) -> str:
        return self.title


class ReportImport(models.Model):
    """A work report read into a plan: its text and the proposals extracted from it,
    kept so that every commitment can show the clause it came from."""

    class Status(models.TextChoices):
        REVIEWING = "reviewing", _("Under review")
        APPROVED = "approved", _("Approved")

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="imports")
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REVIEWING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "sha256"], name="import_once_per_plan"),
        ]
        verbose_name = _("report import")
        verbose_name_plural = _("report imports")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("plans:review", args=[self.pk])


class Proposal(Figure):
    """One commitment proposed by extraction, reviewed by a planner."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        MERGED = "merged", _("Merged")

    report_import = models.ForeignKey(
        ReportImport, on_delete=models.CASCADE, related_name="proposals"
    )
    position = models.PositiveIntegerField()
    stance = models.CharField(_("stance"), max_length=8, choices=Stance.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    section = models.CharField(_("section"), max_length=300, blank=True)
    indicator = models.CharField(_("indicator"), max_length=200)
    text = models.TextField(_("clause"))
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    edited = models.BooleanField(default=False)
    commitment = models.ForeignKey(
        "Commitment", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )

    class Meta:
        ordering = ["report_import", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report_import", "position"], name="proposal_position"),
        ]


class Commitment(Figure):
    """A tracked commitment of a plan: a target with its figure, deadline and owners."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="commitments")
    # Identity across re-imports of the same report: see plans.services.commitment_key.
    key = models.CharField(max_length=400)
    section = models.CharField(_("section"), max_length=300, blank=True)
    indicator = models.CharField(_("indicator"), max_length=200)
    text = models.TextField(_("clause"))
    # Last year's actual for the same indicator (基数): 2021's 1270.3亿元 for 2022's 1400亿元.
    baseline_value = models.DecimalField(
        _("baseline"), max_digits=24, decimal_places=4, null=True, blank=True
    )
    baseline_year = models.PositiveSmallIntegerField(_("baseline year"), null=True, blank=True)
    baseline_text = models.TextField(_("baseline clause"), blank=True)
    lead_department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_commitments",
    )
    co_departments = models.ManyToManyField(
        "accounts.Department",
        verbose_name=_("co-departments"),
        blank=True,
        related_name="supported_commitments",
    )
    source_import = models.ForeignKey(
        ReportImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="commitments"
    )
    source_start = models.PositiveIntegerField(null=True, blank=True)
    source_end = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    cadence = models.CharField(
        _("reporting cadence"), max_length=10, choices=Cadence.choices, default=Cadence.MONTHLY
    )
    data_source = models.CharField(
        _("data source"), max_length=10, choices=DataSource.choices, default=DataSource.MANUAL
    )
    metric = models.CharField(
        _("metric"),
        max_length=60,
        blank=True,
        help_text=_("For a computed data source: the metric of Duban's own data that feeds it."),
    )
    pace_profile = models.CharField(
        _("pace"), max_length=10, choices=PaceProfile.choices, default=PaceProfile.LINEAR
    )
    # 12 monthly shares (seasonal) or 12 planned cumulative values (plan), as strings.
    pace_values = models.JSONField(_("pace values"), null=True, blank=True)
    headline = models.BooleanField(
        _("headline target"),
        default=False,
        help_text=_(
            "One of the plan's main expected targets (主要预期目标), shown as a card in the cockpit."
        ),
    )
    from_baseline = models.BooleanField(
        _("progress counts from the baseline"),
        default=False,
        help_text=_("On for rates and stocks (覆盖率); off for amounts that accumulate from zero."),
    )

    class Meta:
        ordering = ["plan", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="commitment_key_per_plan"),
        ]
        indexes = [models.Index(fields=["plan", "lead_department"])]
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")

    def __str__(self) -> str:
        return f"{self.indicator} ({self.plan.year})"


class ProgressReport(models.Model):
    """One department's report on one commitment for one period. Every version is kept:
    a returned report is revised as a new version; only approved figures count."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned")

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        EXCEL = "excel", _("Excel")
        API = "api", _("API")
        SYSTEM = "system", _("Computed")

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="reports")
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="progress_reports"
    )
    period_end = models.DateField(_("period"))
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    # The cumulative figure, the year-to-date growth, or the current rate, by measure.
    value = models.DecimalField(_("figure"), max_digits=24, decimal_places=4, null=True, blank=True)
    done_date = models.DateField(_("done on"), null=True, blank=True)
    work_done = models.TextField(_("what was done"), blank=True)
    problems = models.TextField(_("problems"), blank=True)
    next_steps = models.TextField(_("next steps"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)

    class Meta:
        ordering = ["commitment", "period_end", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["commitment", "period_end", "version"], name="report_version"
            ),
        ]
        indexes = [
            models.Index(fields=["commitment", "status", "period_end", "version"]),
            models.Index(fields=["department", "status"]),
        ]


class Evidence(models.Model):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to="evidence/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()


class SupervisionNotice(models.Model):
    """督办单: a formal notice to a department about a lagging commitment or a missing
    report, with a reply deadline."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        REPLIED = "replied", _("Replied")
        CLOSED = "closed", _("Closed")

    class Trigger(models.TextChoices):
        RED = "red", _("Turned red")
        OVERDUE = "overdue", _("Report overdue")
        MANUAL = "manual", _("Raised by hand")

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="notices")
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="notices"
    )
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(_("number"), max_length=40, blank=True)
    reason = models.TextField(_("reason"))
    reply_deadline = models.DateField(_("reply by"), null=True, blank=True)
    created_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(_("reasons"), blank=True)
    measures = models.TextField(_("measures"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "reply_deadline"])]


class Notification(models.Model):
    """One line in a user's inbox (also sent by e-mail)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30)
    key = models.CharField(max_length=120)  # what it is about, so a reminder is sent once
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "key"], name="notification_once"),
        ]
