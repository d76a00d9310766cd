"""The pipeline's version moves from PipelineVersion, replaced by signals on ORM saves, to
the 'pipeline' stamp of core.Stamp, renewed by triggers on every write of these tables,
bulk and plain SQL included (duban.core.stamps)."""

from django.db import migrations

from duban.core import stamps

TABLES = (
    "projects_project",
    "projects_approvalstep",
    "projects_monthlyreport",
    "projects_problem",
    "accounts_department",
)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0003_pipeline_version"),
        ("core", "0001_stamp"),
    ]

    operations = [
        migrations.DeleteModel(name="PipelineVersion"),
        stamps.installer("pipeline", TABLES),
    ]
