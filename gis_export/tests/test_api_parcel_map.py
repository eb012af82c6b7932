"""The parcel map: its layer endpoint (parcels in the view, a grid when there are too many, only a county the user
may view) and the admin page in a real browser (Debian's chromium through Playwright) drawing the demo county."""

import shutil

import pytest
from django.urls import reverse

from counties.models import County
from gis_export import parcel_map
from properties.demo import demo_county_generate
from properties.models import Property, PropertyValue
from terrafusion.testing.api import EndpointContract, bearer_client
from terrafusion.testing.factories import CountyFactory, PropertyFactory, user_with_role

pytestmark = pytest.mark.django_db(transaction=True)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def county(db):
    demo_county_generate(slug="demo", parcels=400, seed=8, working_year=2026)
    return County.objects.get(slug="demo")


def layer(user, slug, bbox, color_by="market_value"):
    return bearer_client(user).get(
        reverse("api:gis-export-map", args=[slug]), {"bbox": ",".join(map(str, bbox)), "color_by": color_by}
    )


def extent(county) -> list[float]:
    parcels = Property.objects.filter(county=county)
    return [min(p.bbox_xmin for p in parcels), min(p.bbox_ymin for p in parcels),
            max(p.bbox_xmax for p in parcels), max(p.bbox_ymax for p in parcels)]  # fmt: skip


def test_the_layer_is_the_parcels_in_view_with_their_figures(county):
    viewer = user_with_role(county, "viewer", username="viewer")
    response = layer(viewer, "demo", extent(county), color_by="value_change")
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert not body["aggregated"] and body["parcels"] == len(body["features"]) == 400
    parcel = Property.objects.get(pk=body["features"][0]["id"])
    shown = body["features"][0]["properties"]
    certified = PropertyValue.objects.get(property=parcel, roll_year=county.certified_roll_year, is_certified=True)
    assert shown["market_value"] == parcel.market_value and shown["parcel_number"] == parcel.parcel_number
    assert shown["value_change"] == pytest.approx(parcel.market_value / certified.market_value - 1)
    assert shown["admin_url"] == reverse("admin:properties_property_change", args=[parcel.pk])
    assert body["features"][0]["geometry"]["type"] == "Polygon"


def test_a_wide_view_is_a_grid_of_cells_that_counts_every_parcel(county, monkeypatch):
    monkeypatch.setattr(parcel_map, "MAX_PARCELS", 100)
    viewer = user_with_role(county, "viewer", username="viewer")
    body = layer(viewer, "demo", extent(county)).json()
    assert body["aggregated"] and body["parcels"] == 400
    assert sum(cell["properties"]["parcels"] for cell in body["features"]) == 400
    assert len(body["features"]) <= parcel_map.GRID_CELLS**2
    values = [p.market_value for p in Property.objects.filter(county=county)]
    weighted = sum(c["properties"]["mean"] * c["properties"]["parcels"] for c in body["features"]) / 400
    assert weighted == pytest.approx(sum(values) / 400)


def test_another_countys_parcels_are_never_on_the_map(county):
    other = CountyFactory(slug="franklin-wa")
    stranger = PropertyFactory(county=other, bbox_xmin=-119.3, bbox_ymin=46.1, bbox_xmax=-119.29, bbox_ymax=46.11)
    viewer = user_with_role(county, "viewer", username="viewer")
    assert layer(viewer, "franklin-wa", [-120, 45, -118, 47]).status_code == 404
    ids = {f["id"] for f in layer(viewer, "demo", [-125, 40, -110, 50]).json()["features"]}
    assert stranger.pk not in ids and ids <= set(Property.objects.filter(county=county).values_list("id", flat=True))
    assert layer(viewer, "demo", [1, 2, 0, 3]).status_code == 400


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by `make test` (scripts/test-tools.sh)")
def test_the_admin_map_draws_the_demo_county_in_a_real_browser(county, live_server, client):
    from playwright.sync_api import sync_playwright

    staff = user_with_role(county, "viewer", username="mapper", is_staff=True)
    client.force_login(staff)
    session = client.cookies["sessionid"].value
    parcel = Property.objects.filter(county=county).order_by("id").first()  # the ORM before Playwright's event loop
    parcel_page = reverse("admin:properties_property_change", args=[parcel.pk])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/admin/gis_export/parcelmap/?county=demo&color_by=neighborhood")
        page.wait_for_selector("#parcel-map[data-drawn]", timeout=20_000)
        drawn = int(page.get_attribute("#parcel-map", "data-drawn"))
        assert drawn == 400 and page.get_attribute("#parcel-map", "data-aggregated") == "false"
        assert "400 parcels in view" in page.inner_text("#map-status")
        # The parcels are on the canvas: count its painted pixels.
        painted = page.evaluate(
            """() => { const c = document.querySelector('#parcel-map canvas');
                       const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
        )
        assert painted > 10_000
        # A click on a parcel (at its representative point) opens its figures with the link to its page.
        x, y = page.evaluate(
            """([lat, lon]) => { const p = document.getElementById('parcel-map').leafletMap
                                     .latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }""",
            [parcel.latitude, parcel.longitude],
        )
        box = page.locator("#parcel-map").bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)
        popup = page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
        assert parcel.parcel_number in popup.inner_text()
        link = popup.query_selector("a").get_attribute("href")
        assert link == parcel_page
        assert not errors, errors
        browser.close()


class TestParcelMapLayer(EndpointContract):
    route = "api:gis-export-map"
    query = "bbox=-125,40,-110,50"

    def make_target(self, county):
        return PropertyFactory(county=county)

    def url_args(self, target) -> list:
        return [target.county.slug]

    def check_allowed_response(self, response, target) -> None:
        assert [feature["id"] for feature in response.json()["features"]] == [target.pk]


def test_a_certified_value_of_zero_is_no_change_not_an_error(county):
    parcel = Property.objects.filter(county=county).order_by("id").first()
    PropertyValue.objects.filter(property=parcel, roll_year=county.certified_roll_year).update(market_value=0)
    viewer = user_with_role(county, "viewer", username="viewer")
    body = layer(viewer, "demo", extent(county), color_by="value_change").json()
    shown = next(f["properties"] for f in body["features"] if f["id"] == parcel.pk)
    assert shown["value_change"] is None
