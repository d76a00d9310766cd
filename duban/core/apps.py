from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "duban.core"
    label = "core"
    verbose_name = _("Duban")

    def ready(self) -> None:
        from duban.core import stamps

        # Stamps' rows after migrate and flush (flush empties every table).
        post_migrate.connect(stamps.after_migrate, sender=self, dispatch_uid="core-stamps")
