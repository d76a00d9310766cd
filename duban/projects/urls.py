from django.urls import path

from duban.projects import views

app_name = "projects"
urlpatterns = [
    path("", views.index, name="index"),
    path("list/", views.project_list, name="list"),
    path("late/", views.late, name="late"),
    path("problems/", views.problems, name="problems"),
    path("reviews/", views.reviews, name="reviews"),
    path("ledger.xlsx", views.ledger_download, name="ledger-export"),
    path("ledger/import/", views.ledger_upload, name="ledger-import"),
    path("new/", views.project_edit, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.project_edit, name="edit"),
    path("<int:pk>/reports/", views.report_new, name="report-new"),
    path("<int:pk>/problems/", views.problem_new, name="problem-new"),
    path("reports/<int:pk>/edit/", views.report_edit, name="report-edit"),
    path("reports/<int:pk>/submit/", views.report_submit, name="report-submit"),
    path("reports/<int:pk>/review/", views.report_review, name="report-review"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path(
        "problems/<int:pk>/resolve/",
        views.problem_act,
        {"action": "resolve"},
        name="problem-resolve",
    ),
    path("problems/<int:pk>/close/", views.problem_act, {"action": "close"}, name="problem-close"),
    path(
        "problems/<int:pk>/reopen/", views.problem_act, {"action": "reopen"}, name="problem-reopen"
    ),
]
