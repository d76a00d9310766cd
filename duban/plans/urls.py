from django.urls import path

from duban.plans import tracking_views as t
from duban.plans import views

app_name = "plans"
urlpatterns = [
    path("", t.status_overview, name="overview"),
    path("<int:year>/assign/", t.bulk_assign, name="bulk-assign"),
    path("<int:year>/assignments/", t.assignments_upload, name="assignments-upload"),
    path("import/", views.import_report, name="import"),
    path("imports/<int:pk>/", views.review, name="review"),
    path("imports/<int:pk>/approve/", views.approve, name="approve"),
    path("proposals/<int:pk>/edit/", views.proposal_edit, name="proposal-edit"),
    path("proposals/<int:pk>/decide/", views.proposal_decide, name="proposal-decide"),
    path("commitments/<int:pk>/", t.commitment_detail, name="commitment"),
    path("commitments/<int:pk>/report/", t.progress_file, name="progress-file"),
    path("commitments/<int:pk>/assign/", t.commitment_assign, name="assign"),
    path("reports/<int:pk>/submit/", t.progress_submit, name="progress-submit"),
    path("reports/<int:pk>/review/", t.progress_review, name="progress-review"),
    path("evidence/<int:pk>/", t.evidence_file, name="evidence"),
    path("reviews/", t.review_queue, name="reviews"),
    path("departments/<slug:code>/", t.department_page, name="department"),
    path("departments/<slug:code>/template.xlsx", t.template_download, name="template"),
    path("departments/<slug:code>/upload/", t.template_upload, name="upload"),
    path("notices/", t.notices, name="notices"),
    path("notices/<int:pk>/", t.notice_detail, name="notice"),
    path("inbox/", t.inbox, name="inbox"),
]
