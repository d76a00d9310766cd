from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A unit of the district government: 牵头单位 / 配合单位 of commitments, handler of cases."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.CharField(
        _("short code"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9-]*$", _("Lower-case letters, digits and -"))],
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_supervision_office = models.BooleanField(
        _("supervision office"),
        default=False,
        help_text=_("The office that plans and supervises (督查室)."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    PLANNER = "planner", _("Planner")
    REPORTER = "reporter", _("Reporter")
    LEADER = "leader", _("Leader")
    ADMIN = "admin", _("Administrator")
    # 话务员: takes citizens' calls for the centre (docs/cases.md, "Hotline operators").
    OPERATOR = "operator", _("Hotline operator")


class User(AbstractUser):
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.REPORTER)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_planner(self) -> bool:
        return self.role in (Role.PLANNER, Role.ADMIN)

    @property
    def is_leader(self) -> bool:
        return self.role == Role.LEADER

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR

    @property
    def is_centre_staff(self) -> bool:
        """The case centre's own people: planners and admins (who dispatch, approve and
        verify) and hotline operators (who enter and look up cases). They enter cases for
        callers, open any case and see its reporter's contact data; leaders do not."""
        return self.role in (Role.PLANNER, Role.ADMIN, Role.OPERATOR)

    @property
    def sees_everything(self) -> bool:
        """Planners, leaders and admins read every department's data."""
        return self.role in (Role.PLANNER, Role.LEADER, Role.ADMIN)

    def can_view_department(self, department_id: int | None) -> bool:
        if self.role == Role.OPERATOR:
            return False  # operators read cases only, whatever department they belong to
        return self.sees_everything or (
            department_id is not None and department_id == self.department_id
        )

    def can_report_for(self, department_id: int | None) -> bool:
        """Only the department's own reporters file for it; planners approve, not file."""
        return (
            self.role == Role.REPORTER
            and department_id is not None
            and department_id == self.department_id
        )


class LoginFailure(models.Model):
    """One failed login. Kept in the database so that every worker and host counts the
    same failures when throttling."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, db_index=True)
    at = models.DateTimeField(db_index=True)


class ApiClient(models.Model):
    """Another system that calls Duban's API with a key: the statistics bureau filing
    monthly figures, an inspection app filing cases, an Open311 client. Only a hash of the
    key is stored."""

    class Scope(models.TextChoices):
        PROGRESS = "progress", _("File progress reports")
        CASES = "cases", _("Submit cases")
        OPEN311 = "open311", _("Open311 client")

    name = models.CharField(_("name"), max_length=100, unique=True)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("The department the system files for, where that matters."),
    )
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(
        max_length=8, help_text=_("First characters, to recognise a key.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name
