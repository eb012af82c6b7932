"""Exports of the demo county in every format, read back with pyogrio/GDAL (GeoParquet with pyarrow and geopandas,
GDAL here having no Parquet driver): the features the filters select, the CRS asked, valid geometries, the
attributes asked."""

import json
import zipfile

import geopandas
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from django.test import override_settings
from pyproj import CRS

from gis_export.choices import Attribute, ExportFormat
from gis_export.selectors import export_columns, parcels_for_export
from gis_export.services import gis_export_write
from properties.choices import ValueSource
from properties.demo import demo_county_generate
from properties.models import Property, PropertyValue
from terrafusion.arrow import _cursor_batches, query_batches

# Committed: on PostgreSQL the export reads through its own (Arrow) connection, as a worker reads what is committed.
pytestmark = pytest.mark.django_db(transaction=True)

ALL = list(Attribute.values)


@pytest.fixture
def county(db):
    demo_county_generate(slug="demo", parcels=300, seed=3, working_year=2026)
    from counties.models import County

    return County.objects.get(slug="demo")


def parameters(**given) -> dict:
    return {"format": ExportFormat.GPKG, "filters": {"active": True}, "attributes": ALL, "crs": "EPSG:4326",
            "value_source": ValueSource.PACS, **given}  # fmt: skip


def read_back(written, export_format):
    path = written.files[0]
    if export_format == ExportFormat.GEOPARQUET:
        return geopandas.read_parquet(path)
    if export_format == ExportFormat.SHAPEFILE:
        return pyogrio.read_dataframe(f"/vsizip/{path}/parcels.shp")
    return pyogrio.read_dataframe(path)


@pytest.mark.parametrize("export_format", ExportFormat.values)
@pytest.mark.parametrize("crs", ["EPSG:4326", "local"])
def test_every_format_reads_back_with_the_filtered_parcels_crs_and_attributes(county, tmp_path, export_format, crs):
    if export_format == ExportFormat.KML and crs != "EPSG:4326":
        pytest.skip("KML is always WGS84 (the API refuses another CRS)")
    hood = Property.objects.filter(county=county).values_list("neighborhood__code", flat=True).first()
    filters = {"active": True, "neighborhoods": [hood], "min_value": 100_000}
    expected = Property.objects.filter(
        county=county, is_active=True, neighborhood__code=hood, market_value__gte=100_000
    )
    assert 5 < expected.count() < Property.objects.filter(county=county).count()
    summary, written = gis_export_write(
        county=county, parameters=parameters(format=export_format, crs=crs, filters=filters), directory=tmp_path
    )
    frame = read_back(written, export_format)
    assert len(frame) == expected.count() == summary["parcels"]
    wanted = CRS.from_epsg(2927 if crs == "local" else 4326)
    assert CRS.from_user_input(frame.crs).equals(wanted, ignore_axis_order=True), frame.crs
    assert summary["crs"] == f"EPSG:{wanted.to_epsg()}"
    assert shapely.is_valid(frame.geometry.values).all() and frame.geometry.notna().all()
    columns = set(frame.columns)
    if export_format == ExportFormat.SHAPEFILE:
        renamed = summary["shapefile_fields"]
        assert renamed["parcel_number"] == "parcel_num" and all(len(name) <= 10 for name in columns)
        columns = {next((k for k, v in renamed.items() if v == name), name) for name in columns}
    assert {"tf_id", "parcel_number", "situs_address", "owner_name", "market_value", "neighborhood",
            "last_sale_price"} <= columns  # fmt: skip
    # The features are the parcels, with their figures: one parcel checked field by field.
    parcel = expected.order_by("id").first()
    row = frame[frame["tf_id"].astype(int) == parcel.pk].iloc[0]
    number_column = "parcel_num" if export_format == ExportFormat.SHAPEFILE else "parcel_number"
    assert row[number_column] == parcel.parcel_number
    assert int(row["market_val" if export_format == ExportFormat.SHAPEFILE else "market_value"]) == parcel.market_value
    stored = shapely.from_wkb(bytes(parcel.geometry))
    if crs == "local":
        assert abs(row.geometry.centroid.x - 1_640_416) < 500_000  # state-plane feet, not degrees
        assert row.geometry.area > 1_000 * stored.area  # square feet against square degrees
    else:
        # The same rings (Shapefile turns outer rings clockwise: compared in normal form).
        assert shapely.normalize(row.geometry).equals_exact(shapely.normalize(stored), tolerance=1e-7)


def test_csv_carries_wkt_and_its_crs_in_a_prj_beside_it(county, tmp_path):
    _, written = gis_export_write(
        county=county, parameters=parameters(format=ExportFormat.CSV, crs="EPSG:2927"), directory=tmp_path
    )
    assert [path.name for path in written.files] == ["parcels.csv", "parcels.prj"]
    header = written.files[0].read_text().splitlines()[0]
    assert header.startswith("WKT,tf_id,parcel_number")
    assert pyogrio.read_info(written.files[0])["crs"] == "EPSG:2927"


def test_geoparquet_metadata_says_crs_extent_and_types(county, tmp_path):
    summary, written = gis_export_write(
        county=county, parameters=parameters(format=ExportFormat.GEOPARQUET, crs="local"), directory=tmp_path
    )
    geo = json.loads(pq.read_metadata(written.files[0]).metadata[b"geo"])
    column = geo["columns"]["geometry"]
    assert geo["version"] == "1.1.0" and column["encoding"] == "WKB"
    assert CRS.from_json_dict(column["crs"]).to_epsg() == 2927
    assert column["geometry_types"] == ["Polygon"]
    assert column["bbox"] == pytest.approx(summary["bounds"])
    assert pq.ParquetFile(written.files[0]).metadata.num_rows == summary["parcels"]


def test_shapefile_zip_holds_the_five_parts(county, tmp_path):
    summary, written = gis_export_write(
        county=county, parameters=parameters(format=ExportFormat.SHAPEFILE), directory=tmp_path
    )
    with zipfile.ZipFile(written.files[0]) as archive:
        assert sorted(archive.namelist()) == sorted(f"parcels.{part}" for part in ("shp", "shx", "dbf", "prj", "cpg"))
        assert archive.read("parcels.cpg").strip() == b"UTF-8"
    assert summary["shapefile_fields"]["improvement_value"] == "improvemen"


def test_values_of_a_roll_year_come_from_the_value_history(county, tmp_path):
    parcel = Property.objects.filter(county=county, is_active=True).order_by("id").first()
    PropertyValue.objects.update_or_create(
        property=parcel, roll_year=2019, source=ValueSource.MANUAL,
        defaults={"county": county, "land_value": 1, "improvement_value": 2, "market_value": 3, "assessed_value": 3},
    )  # fmt: skip
    _, written = gis_export_write(
        county=county,
        parameters=parameters(format=ExportFormat.GEOJSON, attributes=["values"], roll_year=2019,
                              value_source=ValueSource.MANUAL),
        directory=tmp_path,
    )  # fmt: skip
    frame = read_back(written, ExportFormat.GEOJSON)
    assert list(frame.columns) == ["tf_id", "value_year", "land_value", "improvement_value", "market_value",
                                   "assessed_value", "geometry"]  # fmt: skip
    assert len(frame) == Property.objects.filter(county=county, is_active=True).count()  # a parcel without: empty
    mine = frame[frame["tf_id"] == parcel.pk].iloc[0]
    assert (mine["value_year"], mine["market_value"]) == (2019, 3)
    assert frame["market_value"].isna().sum() == len(frame) - 1


def test_a_bounding_box_selects_the_parcels_it_overlaps(county, tmp_path):
    xmin, ymin = Property.objects.filter(county=county).order_by("bbox_xmin").values_list("bbox_xmin", "bbox_ymin")[0]
    box = [xmin - 0.001, ymin - 0.001, xmin + 0.01, ymin + 0.01]
    expected = Property.objects.filter(county=county, is_active=True, bbox_xmax__gte=box[0], bbox_xmin__lte=box[2],
                                       bbox_ymax__gte=box[1], bbox_ymin__lte=box[3])  # fmt: skip
    _, written = gis_export_write(
        county=county, parameters=parameters(format=ExportFormat.FLATGEOBUF, filters={"active": True, "bbox": box}),
        directory=tmp_path,
    )  # fmt: skip
    frame = read_back(written, ExportFormat.FLATGEOBUF)
    assert 0 < len(frame) == expected.count() < 300
    assert shapely.intersects(frame.geometry.values, shapely.box(*box)).all()


@override_settings(GIS_EXPORT_BATCH_PARCELS=64)
def test_the_county_is_read_and_written_a_batch_at_a_time(county, tmp_path):
    columns = export_columns(ALL)
    parcels = parcels_for_export(county=county, filters={"active": None})
    sizes = [batch.num_rows for batch in query_batches(parcels, columns, 64)]
    assert sizes == [64, 64, 64, 64, 44]  # 300 parcels
    # Both readers (Arrow's driver on PostgreSQL, the cursor elsewhere) give the same table.
    sql, params = parcels.values_list(*(column.expression for column in columns)).query.sql_with_params()
    schema = pa.schema([(column.name, column.type) for column in columns])
    by_cursor = pa.Table.from_batches(list(_cursor_batches(sql, params, schema)))
    by_arrow = pa.Table.from_batches(list(query_batches(parcels, columns, 1000)))
    assert by_cursor.num_rows == 300 and by_cursor.equals(by_arrow)
    summary, written = gis_export_write(
        county=county, parameters=parameters(format=ExportFormat.GPKG, filters={"active": None}), directory=tmp_path
    )
    assert pyogrio.read_info(written.files[0])["features"] == summary["parcels"] == 300


def test_parcels_without_geometry_are_features_without_one(county, tmp_path):
    empty, missing = Property.objects.filter(county=county, is_active=True).order_by("id")[:2]
    Property.objects.filter(pk=empty.pk).update(geometry=b"")
    Property.objects.filter(pk=missing.pk).update(geometry=None)
    for export_format in (ExportFormat.GPKG, ExportFormat.GEOPARQUET, ExportFormat.SHAPEFILE):
        directory = tmp_path / export_format
        directory.mkdir()
        summary, written = gis_export_write(
            county=county, parameters=parameters(format=export_format, crs="local"), directory=directory
        )
        frame = read_back(written, export_format)
        assert len(frame) == summary["parcels"] == Property.objects.filter(county=county, is_active=True).count()
        assert frame.geometry.isna().sum() == 2
