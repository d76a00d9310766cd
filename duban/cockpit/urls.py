from django.urls import path

from duban.cockpit import views

app_name = "cockpit"
urlpatterns = [
    path("", views.index, name="index"),
    path("evaluation/", views.evaluation_list, name="evaluation"),
    path("evaluation/scheme/", views.scheme, name="scheme"),
    path("evaluation/department/<slug:code>/", views.department_score, name="department-score"),
]
