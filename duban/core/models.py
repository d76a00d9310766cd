from django.db import models
from django.utils.translation import gettext_lazy as _


class Stamp(models.Model):
    """The version of a group of tables (``duban.core.stamps.GROUPS``): database triggers
    give the group's row a new random value whenever a row of its tables is inserted,
    updated or deleted, by any means (the services, bulk writes, the admin, a migration,
    plain SQL), in the writer's transaction. What a worker computed from the tables is kept
    under the stamp it read first, and never served once the stamp differs. Random, not a
    counter, so a rolled-back change never brings back a value that named other contents."""

    name = models.CharField(max_length=20, primary_key=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("stamp")
        verbose_name_plural = _("stamps")

    def __str__(self) -> str:
        return f"{self.name} {self.version}"
