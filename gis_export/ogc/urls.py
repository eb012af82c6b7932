from django.urls import path

from gis_export.ogc import views

urlpatterns = [
    path("", views.LandingView.as_view(), name="ogc-landing"),
    path("conformance", views.ConformanceView.as_view(), name="ogc-conformance"),
    path("collections", views.CollectionsView.as_view(), name="ogc-collections"),
    path("collections/<slug:collection>", views.CollectionView.as_view(), name="ogc-collection"),
    path("collections/<slug:collection>/items", views.ItemsView.as_view(), name="ogc-items"),
    path("collections/<slug:collection>/items/<int:feature>", views.ItemView.as_view(), name="ogc-item"),
]
