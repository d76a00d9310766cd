from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from duban.api import api
from duban.core import views as core_views

urlpatterns = [
    # The intake endpoints first: every request is matched against the patterns in order.
    path("api/v1/", api.urls),
    path("open311/v2/", include("duban.cases.open311_urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("", include("duban.core.urls")),
    path("accounts/", include("duban.accounts.urls")),
    path("audit/", include("duban.audit.urls")),
    path("plans/", include("duban.plans.urls")),
    path("projects/", include("duban.projects.urls")),
    path("cases/", include("duban.cases.urls")),
    path("cockpit/", include("duban.cockpit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
]
