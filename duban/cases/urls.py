from django.urls import path

from duban.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("new/attributes/", views.attributes_fields, name="attributes"),
    path("t/<str:token>/", views.track, name="track"),
    path("hotline/", views.hotline, name="hotline"),
    path("find/", views.find, name="find"),
    path("desk/", views.desk, name="desk"),
    path("queue/", views.queue, name="queue"),
    path("kpi/", views.kpi, name="kpi"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/", views.act, name="act"),
    path("photos/<int:pk>/", views.photo, name="photo"),
]
