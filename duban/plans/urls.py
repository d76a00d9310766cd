from django.urls import path

from duban.plans import views

app_name = "plans"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("import/", views.import_report, name="import"),
    path("imports/<int:pk>/", views.review, name="review"),
    path("imports/<int:pk>/approve/", views.approve, name="approve"),
    path("proposals/<int:pk>/edit/", views.proposal_edit, name="proposal-edit"),
    path("proposals/<int:pk>/decide/", views.proposal_decide, name="proposal-decide"),
    path("commitments/<int:pk>/", views.commitment_detail, name="commitment"),
]
