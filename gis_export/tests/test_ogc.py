"""OGC API - Features under /ogc/: the documents a client walks, paging by `next` links, a bounding box, the county
check; and GDAL's own OAPIF driver (what QGIS uses) reading a whole county through the live server, page by page."""

import json
import subprocess
import sys

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from counties.models import County
from properties.demo import demo_county_generate
from properties.models import Property
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import CountyFactory, PropertyFactory, user_with_role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def county(db):
    demo_county_generate(slug="demo", parcels=250, seed=6, working_year=2026)
    return County.objects.get(slug="demo")


@pytest.fixture
def away(db):
    other = CountyFactory(slug="franklin-wa", name="Franklin County")
    PropertyFactory.create_batch(3, county=other)
    return other


@pytest.fixture
def viewer(county):
    return user_with_role(county, "viewer", username="gis-viewer")


def test_a_client_walks_landing_conformance_collections_and_pages_through_a_county(county, away, viewer):
    client = bearer_client(viewer)
    landing = client.get(reverse("ogc-landing")).json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    conformance = client.get(rels["conformance"]).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    collections = client.get(rels["data"]).json()["collections"]
    assert [c["id"] for c in collections] == ["demo"]  # Franklin is not there at all
    extent = collections[0]["extent"]["spatial"]["bbox"][0]
    assert -120 < extent[0] < extent[2] < -118 and 45 < extent[1] < extent[3] < 47

    items = next(link["href"] for link in collections[0]["links"] if link["rel"] == "items")
    seen, url, pages = [], f"{items}?limit=100", 0
    while url:
        page = client.get(url, HTTP_ACCEPT="application/geo+json")
        assert page["Content-Type"] == "application/geo+json"
        body = page.json()
        assert body["type"] == "FeatureCollection" and body["numberReturned"] == len(body["features"]) <= 100
        seen += [feature["id"] for feature in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert pages == 3 and seen == sorted(Property.objects.filter(county=county).values_list("id", flat=True))

    feature = client.get(reverse("ogc-item", args=["demo", seen[0]])).json()
    parcel = Property.objects.get(pk=seen[0])
    assert feature["properties"]["parcel_number"] == parcel.parcel_number
    assert feature["properties"]["market_value"] == parcel.market_value
    assert feature["geometry"]["type"] == "Polygon"


def test_a_bounding_box_and_a_bad_one(county, viewer):
    client = bearer_client(viewer)
    corner = Property.objects.filter(county=county).order_by("bbox_xmin").first()
    box = [corner.bbox_xmin, corner.bbox_ymin, corner.bbox_xmin + 0.005, corner.bbox_ymin + 0.005]
    expected = Property.objects.filter(county=county, bbox_xmax__gte=box[0], bbox_xmin__lte=box[2],
                                       bbox_ymax__gte=box[1], bbox_ymin__lte=box[3])  # fmt: skip
    body = client.get(reverse("ogc-items", args=["demo"]), {"bbox": ",".join(map(str, box)), "limit": 1000}).json()
    assert 0 < len(body["features"]) == expected.count() < 250
    bad = client.get(reverse("ogc-items", args=["demo"]), {"bbox": "1,2,3"})
    assert bad.status_code == 400 and "bbox" in bad.json()["error"]["fields"]


def test_another_countys_collection_is_invisible_and_anonymous_is_refused(county, away, viewer):
    client = bearer_client(viewer)
    assert client.get(reverse("ogc-collection", args=["franklin-wa"])).status_code == 404
    assert client.get(reverse("ogc-items", args=["franklin-wa"])).status_code == 404
    stranger_parcel = Property.objects.filter(county=away).first()
    assert client.get(reverse("ogc-item", args=["demo", stranger_parcel.pk])).status_code == 404
    assert APIClient().get(reverse("ogc-collections")).status_code == 401


GDAL_READ = """
import json, sys, pyogrio
pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": sys.argv[2]})
url = "OAPIF:" + sys.argv[1]
layers = [str(name) for name, _ in pyogrio.list_layers(url)]
frame = pyogrio.read_dataframe(url, layer="demo", PAGE_SIZE=100)  # 250 parcels: three pages, two `next` links
print(json.dumps({"layers": layers, "ids": sorted(int(i) for i in frame.index if i is not None) or None,
                  "count": len(frame), "parcel_numbers": sorted(frame["parcel_number"].tolist()),
                  "crs": str(frame.crs), "valid": bool(frame.geometry.is_valid.all())}))
"""


def test_gdal_reads_a_whole_county_through_its_oapif_driver(county, away, viewer, live_server):
    token = str(RefreshToken.for_user(viewer).access_token)
    done = subprocess.run(  # GDAL in its own process: it calls the live server while this one serves it
        [sys.executable, "-c", GDAL_READ, f"{live_server.url}/ogc/", token],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert read["layers"] == ["demo"]  # Franklin's collection is invisible to GDAL too
    assert read["count"] == Property.objects.filter(county=county).count() == 250  # every page, not the first
    assert read["parcel_numbers"] == sorted(
        Property.objects.filter(county=county).values_list("parcel_number", flat=True)
    )
    assert "4326" in read["crs"] or "CRS84" in read["crs"] or "WGS 84" in read["crs"]
    assert read["valid"]
