"""Load the working-day calendar for every year the installed chinese_calendar knows.
`duban calendar load` adds the years of a newer package later."""

from django.db import migrations


def load(apps, schema_editor):
    from duban.cases.workdays import calendar_rows_from_package, store_rows

    store_rows(
        calendar_rows_from_package(),
        year_model=apps.get_model("cases", "WorkdayCalendar"),
        day_model=apps.get_model("cases", "CalendarDay"),
        source="chinese_calendar",
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
