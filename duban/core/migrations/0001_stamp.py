"""core.Stamp: one row per group of tables, given a new random value by triggers on every
write of the group's tables (duban.core.stamps). Each group's migration installs its
triggers: cases 0010 (calendar, catalogue), plans 0005 (plans), projects 0004 (pipeline)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Stamp",
            fields=[
                ("name", models.CharField(max_length=20, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField(default=0)),
            ],
            options={
                "verbose_name": "stamp",
                "verbose_name_plural": "stamps",
            },
        ),
    ]
