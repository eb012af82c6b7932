"""The writers' pure parts: Shapefile field names and reprojection."""

import numpy as np
import pytest
import shapely
from pyproj import CRS

from gis_export.writers import reprojector, shapefile_names


def test_shapefile_names_are_cut_to_ten_characters_without_collisions():
    names = ["id", "parcel_number", "last_sale_date", "last_sale_price", "last_sale_", "LAST_SALE_2", "owner_name"]
    cut = shapefile_names(names)
    assert list(cut) == names
    assert all(len(short) <= 10 for short in cut.values())
    assert len({short.lower() for short in cut.values()}) == len(names)  # dBASE names are case-insensitive
    assert cut["id"] == "id" and cut["owner_name"] == "owner_name"
    assert cut["parcel_number"] == "parcel_num"
    assert cut["last_sale_date"] == "last_sale_"
    assert cut["last_sale_price"] == "last_sal_2"  # its cut name was taken
    assert cut["last_sale_"] == "last_sal_3"
    assert cut["LAST_SALE_2"] == "LAST_SAL_4"  # "LAST_SALE_"[:10] and last_sal_2 are both taken


def test_reprojection_to_washington_south_state_plane_moves_a_known_point():
    # Prosser (-119.7683, 46.2068) in Washington South (EPSG:2927, US survey feet; central meridian -120.5,
    # latitude of origin 45.3333, false easting 1,640,416.667 ft), worked by hand on a sphere: 0.7317 degrees of
    # longitude at 46.2 N are 56.4 km east of the meridian, 0.8735 degrees of latitude 97.1 km north of the origin.
    reproject = reprojector(CRS.from_epsg(2927))
    moved = reproject(np.array([shapely.Point(-119.7683, 46.2068)]))[0]
    assert moved.x == pytest.approx(1_640_417 + 184_970, abs=1_500)
    assert moved.y == pytest.approx(318_700, abs=1_500)
    assert reprojector(CRS.from_epsg(4326)) is None  # WGS84 out: the WKB goes through untouched
