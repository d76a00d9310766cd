"""The calendar's and the catalogue's stamps move to core.Stamp, where the plans' and the
pipeline's are too (duban.core.stamps): the triggers of 0004 and cases_stamp go, the same
groups get core's triggers. Workers reload their copies once (the new stamps differ)."""

import importlib

from django.db import migrations

from duban.core import stamps

_0004 = importlib.import_module("duban.cases.migrations.0004_stamp")

CALENDAR = ("cases_workdaycalendar", "cases_calendarday")
CATALOGUE = ("cases_category", "cases_attribute")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_case_street"),
        ("core", "0001_stamp"),
    ]

    operations = [
        # Backwards: 0004's triggers again, once cases_stamp is back.
        migrations.RunPython(_0004.remove, _0004.install),
        migrations.DeleteModel(name="Stamp"),
        stamps.installer("calendar", CALENDAR),
        stamps.installer("catalogue", CATALOGUE),
    ]
