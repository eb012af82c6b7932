import json

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse

from counties.models import County
from gis_export.models import ParcelMap
from gis_export.parcel_map import COLOR_BY
from gis_export.selectors import county_extent
from terrafusion.admin import CountyScopedAdmin


@admin.register(ParcelMap)
class ParcelMapAdmin(CountyScopedAdmin):
    """A county's parcels on a web map (Leaflet, vendored), colored by a chosen figure; a click shows the parcel's
    figures and a link to its page. Its layer comes from /api/v1/gis-export/map/<county>/ (the same county check)."""

    read_only = True

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        counties = list(County.objects.restrict(request.user, "view").filter(is_active=True).order_by("name"))
        chosen = next((c for c in counties if c.slug == request.GET.get("county")), counties[0] if counties else None)
        color_by = request.GET.get("color_by") if request.GET.get("color_by") in COLOR_BY else "market_value"
        context = {
            **self.admin_site.each_context(request),
            "title": f"Parcel map{f' of {chosen.name}' if chosen else ''}",
            "opts": self.opts,
            "counties": counties,
            "county": chosen,
            "color_by": color_by,
            "color_choices": COLOR_BY.items(),
            "layer_url": reverse("api:gis-export-map", args=[chosen.slug]) if chosen else "",
            "extent": json.dumps(county_extent(chosen) or [-125, 45, -116, 49]) if chosen else "",
            "basemap_url": settings.MAP_BASEMAP_URL,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/gis_export/parcel_map.html", context)
