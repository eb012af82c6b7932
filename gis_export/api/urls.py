from django.urls import path

from gis_export.api.views import ParcelMapView

urlpatterns = [path("gis-export/map/<slug:county>/", ParcelMapView.as_view(), name="gis-export-map")]
