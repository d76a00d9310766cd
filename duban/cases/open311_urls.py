# Open311 GeoReport v2 endpoints, mounted at /open311/v2/.
urlpatterns: list = []
