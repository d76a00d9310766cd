"""The project pipeline (项目建设全生命周期): the registry of a plan year's projects, their
approval steps, monthly reports and the problems they raise.

A project row belongs to one plan year (年度项目库): its type (新开工, 续建, 前期, 竣工投用)
and this year's planned investment are facts of that year. A project carried into the next
year is registered again in that year's ledger under the same code."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Amounts are in 元 with fen: 4768亿元 is 476800000000.00.
AMOUNT = {"max_digits": 18, "decimal_places": 2}


class ProjectType(models.TextChoices):
    NEW = "new", _("New start")  # 新开工
    CONTINUING = "continuing", _("Continuing")  # 续建
    PREPARATORY = "preparatory", _("Preparatory")  # 前期
    COMPLETING = "completing", _("Completion and operation")  # 竣工投用


class Stage(models.TextChoices):
    """The gates of a project in order; a stage's date is the day the project enters it."""

    PREP = "prep", _("Preliminary procedures")  # 前期手续
    START = "start", _("Construction start")  # 开工
    MAIN = "main", _("Main construction")  # 主体施工
    TOPPED = "topped", _("Structure topped out")  # 主体封顶
    COMPLETE = "complete", _("Completed")  # 竣工
    OPERATE = "operate", _("In operation")  # 投用


STAGE_ORDER: list[str] = [s.value for s in Stage]


class Sector(models.TextChoices):
    INDUSTRY = "industry", _("Industry")
    TECHNOLOGY = "technology", _("Science and technology")
    FINANCE = "finance", _("Finance and headquarters")
    COMMERCE = "commerce", _("Commerce and services")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure")
    URBAN = "urban", _("Urban renewal")
    HOUSING = "housing", _("Housing and resettlement")
    SOCIAL = "social", _("Education, health and culture")
    ECOLOGY = "ecology", _("Ecology and environment")


class ApprovalKind(models.TextChoices):
    """The approval steps (审批手续) a project goes through before it can start."""

    APPROVAL = "approval", _("Project approval")  # 立项
    LAND = "land", _("Land")  # 用地
    PLANNING = "planning", _("Planning permit")  # 规划许可
    EIA = "eia", _("Environmental assessment")  # 环评
    CONSTRUCTION = "construction", _("Construction permit")  # 施工许可


class Project(models.Model):
    plan_year = models.PositiveSmallIntegerField(
        _("plan year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    code = models.CharField(_("project code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    project_type = models.CharField(_("type"), max_length=12, choices=ProjectType.choices)
    lead_department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("lead department"),
        on_delete=models.PROTECT,
        related_name="projects",
    )
    owner_company = models.CharField(_("owner company"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    total_investment = models.DecimalField(
        _("total investment (yuan)"), validators=[MinValueValidator(0)], **AMOUNT
    )
    annual_investment = models.DecimalField(
        _("planned investment this year (yuan)"), validators=[MinValueValidator(0)], **AMOUNT
    )
    prep_planned = models.DateField(_("procedures planned"), null=True, blank=True)
    prep_actual = models.DateField(_("procedures began"), null=True, blank=True)
    start_planned = models.DateField(_("start planned"), null=True, blank=True)
    start_actual = models.DateField(_("started"), null=True, blank=True)
    main_planned = models.DateField(_("main construction planned"), null=True, blank=True)
    main_actual = models.DateField(_("main construction began"), null=True, blank=True)
    topped_planned = models.DateField(_("topping out planned"), null=True, blank=True)
    topped_actual = models.DateField(_("topped out"), null=True, blank=True)
    complete_planned = models.DateField(_("completion planned"), null=True, blank=True)
    complete_actual = models.DateField(_("completed"), null=True, blank=True)
    operate_planned = models.DateField(_("operation planned"), null=True, blank=True)
    operate_actual = models.DateField(_("in operation since"), null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["plan_year", "code"]
        constraints = [
            models.UniqueConstraint(fields=["plan_year", "code"], name="project_code_per_year"),
            models.CheckConstraint(
                condition=Q(total_investment__gte=0) & Q(annual_investment__gte=0),
                name="project_investment_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["plan_year", "project_type"]),
            models.Index(fields=["plan_year", "lead_department"]),
            models.Index(fields=["plan_year", "sector"]),
            models.Index(fields=["plan_year", "start_actual"]),
        ]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("projects:detail", args=[self.pk])

    def planned(self, stage: str):
        return getattr(self, f"{stage}_planned")

    def actual(self, stage: str):
        return getattr(self, f"{stage}_actual")

    def stage_on(self, day) -> str:
        """The stage the project is in on that day, from its actual dates."""
        current = Stage.PREP.value
        for stage in STAGE_ORDER[1:]:
            actual = self.actual(stage)
            if actual is not None and actual <= day:
                current = stage
        return current


class ApprovalStep(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="approvals")
    kind = models.CharField(_("approval"), max_length=12, choices=ApprovalKind.choices)
    planned_date = models.DateField(_("planned"), null=True, blank=True)
    actual_date = models.DateField(_("obtained"), null=True, blank=True)

    class Meta:
        ordering = ["project", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="approval_once_per_project"),
        ]
        indexes = [models.Index(fields=["kind", "project"])]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned")


class MonthlyReport(models.Model):
    """A project's report for one month. A returned report is revised as a new version;
    only approved reports count, and at most one version of a month is approved."""

    Status = ReportStatus

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reports")
    period_end = models.DateField(_("month"))  # the last day of the month reported on
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT
    )
    month_investment = models.DecimalField(
        _("investment completed this month (yuan)"), validators=[MinValueValidator(0)], **AMOUNT
    )
    cumulative_investment = models.DecimalField(
        _("cumulative investment since the project began (yuan)"),
        validators=[MinValueValidator(0)],
        **AMOUNT,
    )
    stage = models.CharField(
        _("stage reached"), max_length=10, choices=Stage.choices, blank=True, default=""
    )
    stage_date = models.DateField(_("stage reached on"), null=True, blank=True)
    work_done = models.TextField(_("what was done"), blank=True)
    problems = models.TextField(_("problems"), blank=True)
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
        ordering = ["project", "period_end", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "period_end", "version"], name="project_report_version"
            ),
            models.UniqueConstraint(
                fields=["project", "period_end"],
                condition=Q(status="approved"),
                name="project_report_one_approved",
            ),
            models.CheckConstraint(
                condition=Q(month_investment__gte=0) & Q(cumulative_investment__gte=0),
                name="project_report_not_negative",
            ),
        ]
        indexes = [
            # Covers the portfolio sums: approved months of a range, by project.
            models.Index(
                fields=["status", "period_end", "project", "month_investment"],
                name="project_report_sums",
            ),
            models.Index(fields=["project", "status", "period_end"]),
        ]
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")


class ReportPhoto(models.Model):
    report = models.ForeignKey(MonthlyReport, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to="projects/photos/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()


class ProblemCategory(models.TextChoices):
    LAND = "land", _("Land")
    PERMITS = "permits", _("Permits")
    UTILITIES = "utilities", _("Utilities")
    FINANCING = "financing", _("Financing")
    DEMOLITION = "demolition", _("Demolition and relocation")
    OTHER = "other", _("Other")


class ProblemStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved, awaiting confirmation")
    CLOSED = "closed", _("Closed")


class Problem(models.Model):
    """需协调解决的问题: raised for a project, assigned to the department that must solve it,
    answered by that department and closed (or reopened) by the supervision office."""

    Status = ProblemStatus

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="problems")
    category = models.CharField(_("category"), max_length=12, choices=ProblemCategory.choices)
    description = models.TextField(_("description"))
    assigned_department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("assigned to"),
        on_delete=models.PROTECT,
        related_name="project_problems",
    )
    deadline = models.DateField(_("deadline"))
    status = models.CharField(
        _("status"), max_length=10, choices=ProblemStatus.choices, default=ProblemStatus.OPEN
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_on = models.DateField(_("raised on"))
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["deadline", "id"]
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["assigned_department", "status"]),
        ]
        verbose_name = _("problem")
        verbose_name_plural = _("problems")

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.description[:40]}"
