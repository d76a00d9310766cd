"""Duban's JSON API (Django Ninja), at /api/v1/ with its OpenAPI document at
/api/v1/openapi.json. Each module adds its router here."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Duban API",
    version="1",
    urls_namespace="api",
    description="督办 Duban: plans, progress, projects and cases.",
)
api.add_router("/plans", "duban.plans.api.router")
api.add_router("/projects", "duban.projects.api.router")
api.add_router("/cases", "duban.cases.api.router")
