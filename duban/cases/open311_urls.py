"""Open311 GeoReport v2 endpoints, mounted at /open311/v2/ (see duban/cases/open311.py)."""

from django.urls import re_path

from duban.cases import open311

# The namespace the operators' gate lets through (accounts.middleware.OPERATOR_NAMESPACES):
# Open311 is public.
app_name = "open311"
FMT = r"\.(?P<fmt>json|xml)$"
urlpatterns = [
    re_path(r"^discovery" + FMT, open311.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, open311.service_list, name="open311-services"),
    re_path(r"^services/(?P<code>[^/]+)" + FMT, open311.service_definition, name="open311-service"),
    re_path(r"^requests" + FMT, open311.requests, name="open311-requests"),
    re_path(r"^requests/(?P<ticket>[^/]+)" + FMT, open311.request_detail, name="open311-request"),
    re_path(r"^tokens/(?P<token>[^/]+)" + FMT, open311.token_detail, name="open311-token"),
    re_path(r"^(?P<rest>.*)$", open311.not_found),
]
