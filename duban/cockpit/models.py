from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

_weight = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
_deduction = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(50))]


class EvaluationScheme(models.Model):
    """The rules of 效能考评: weights of the three parts and points deducted per item.
    Versioned: a change is a new row; scores say which version made them."""

    version = models.PositiveIntegerField(unique=True)
    weight_commitments = models.DecimalField(
        _("weight of commitments"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(50),
        validators=_weight,
    )
    weight_projects = models.DecimalField(
        _("weight of projects"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(20),
        validators=_weight,
    )
    weight_cases = models.DecimalField(
        _("weight of cases"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(30),
        validators=_weight,
    )
    deduct_overdue_report = models.DecimalField(
        _("per overdue report"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(1),
        validators=_deduction,
    )
    deduct_unanswered_notice = models.DecimalField(
        _("per unanswered notice"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(2),
        validators=_deduction,
    )
    deduct_overdue_case = models.DecimalField(
        _("per overdue case"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.2"),
        validators=_deduction,
    )
    deduct_returned_case = models.DecimalField(
        _("per returned case"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.1"),
        validators=_deduction,
    )
    deduct_overdue_problem = models.DecimalField(
        _("per overdue project problem"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.5"),
        validators=_deduction,
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("evaluation scheme")
        verbose_name_plural = _("evaluation schemes")

    def __str__(self) -> str:
        return f"v{self.version}"
