"""The plans' version moves from PlanVersion, replaced by signals on ORM saves, to the
'plans' stamp of core.Stamp, renewed by triggers on every write of these tables, bulk and
plain SQL included (duban.core.stamps)."""

from django.db import migrations

from duban.core import stamps

TABLES = (
    "plans_plan",
    "plans_commitment",
    "plans_commitment_co_departments",
    "plans_progressreport",
    "accounts_department",
)


class Migration(migrations.Migration):
    dependencies = [
        ("plans", "0004_plan_version"),
        ("core", "0001_stamp"),
    ]

    operations = [
        migrations.DeleteModel(name="PlanVersion"),
        stamps.installer("plans", TABLES),
    ]
