"""The numpy kernels of the demo county: pure functions over arrays, no Django, no database.

Each kernel takes a `numpy.random.Generator` (where it draws) and returns arrays: the street layout and lot
polygons, neighborhoods, characteristics, roll values, sales, owners and the text a roll prints (parcel
numbers, situs addresses, legal descriptions). `demo_data_generate` runs them in a fixed order, so the same
(parcels, seed, working year) give the same data; `properties.demo.writer` puts the result in the database.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from properties.demo.model import (
    CLASS_CODES,
    CONDITION_SHARES,
    DEMO_MODEL,
    QUALITY_SHARES,
    SALE_KINDS,
    SALE_MONTH_WEIGHTS,
    SALE_TURNOVER,
    SALE_YEARS,
    VACANT_CLASS,
    DemoModel,
    demo_model_json,
    log_price_mean,
    months_since,
)

MAX_PARCELS = 1_000_000  # parcel numbers stay unique while the town spans less than ten townships

# --- Layout: blocks of lots around Kennewick/Richland --------------------------------------------

CENTER_LON, CENTER_LAT = -119.25, 46.22
BLOCK_W, BLOCK_D, STREET_W = 600.0, 240.0, 60.0  # feet; each block holds two rows of lots, back to back
PITCH_X, PITCH_Y = BLOCK_W + STREET_W, BLOCK_D + STREET_W
ERAS = ("core", "suburb", "new", "rural")
ERA_PARCEL_SHARES = (0.25, 0.45, 0.22, 0.08)  # built from the centre outwards in this order
ERA_LOTS_PER_ROW = (  # lots per row of a block: lot width 600 ft / k, depth about 120 ft
    ((10, 12), (0.4, 0.6)),
    ((6, 8, 10), (0.25, 0.5, 0.25)),
    ((6, 8), (0.4, 0.6)),
    ((1, 2), (0.55, 0.45)),  # acreage: 0.8-1.7 acre lots
)
ERA_CLASS_SHARES = (  # CLASS_CODES order
    (0.82, 0.07, 0.04, 0.05, 0.02),
    (0.905, 0.03, 0.015, 0.02, 0.03),
    (0.88, 0.02, 0.01, 0.01, 0.08),
    (0.80, 0.0, 0.0, 0.01, 0.19),
)
ERA_EFFECT = (-0.05, 0.0, 0.06, 0.02)  # added to the neighborhood effect: where the era dominates
ERA_AREA_SHIFT = (-0.15, 0.0, 0.10, 0.10)  # log living-area shift
SQFT_PER_ACRE = 43560.0

CITIES = (  # name, ZIP codes (west to east), neighborhood code prefix
    ("PROSSER", ("99350",), "5"),
    ("BENTON CITY", ("99320",), "4"),
    ("WEST RICHLAND", ("99353",), "3"),
    ("RICHLAND", ("99352", "99354"), "2"),
    ("KENNEWICK", ("99338", "99336", "99337"), "1"),
)
CITY_WEST_SHARES = (0.10, 0.05, 0.12)  # Prosser, Benton City, West Richland take the west side

NAME_PREFIXES = (
    "Canyon", "Badger", "Columbia", "Meadow", "Sage", "Amon", "Hansen", "Orchard", "Vineyard", "Desert", "River",
    "Cottonwood", "Willow", "Quail", "Hawk", "Creekstone", "Queensgate", "Horn Rapids", "Keene", "Goethals",
    "Broadmoor", "Thayer", "Lincoln", "Highland", "Vista", "Sunset", "Clearwater", "Rivershore", "Cherry", "Apple",
    "Aspen", "Elk", "Eagle", "Falcon", "Pheasant", "Silver", "Granite", "Rattlesnake", "Yakima", "Southridge",
)  # fmt: skip
NAME_SUFFIXES = (
    "Heights", "Park", "Estates", "Ridge", "Hills", "Springs", "Lakes", "Meadows", "View", "Crossing", "Terrace",
    "Village", "Pointe", "Trails", "Gardens", "Acres",
)  # fmt: skip
LAST_NAMES = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ",
    "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE",
    "PEREZ", "THOMPSON", "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "WALKER", "YOUNG",
    "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES", "GREEN", "ADAMS", "NELSON", "BAKER",
    "HALL", "RIVERA", "CAMPBELL", "MITCHELL", "CARTER", "ROBERTS", "PETERSON", "OLSON", "HANSEN", "LARSON",
    "SCHMIDT", "MUELLER", "WAGNER", "BECKER", "HOFFMAN", "KLEIN", "FISCHER", "WEBER", "MEYER", "SCHULTZ", "JENSEN",
    "CHRISTENSEN", "SORENSEN", "ERICKSON", "LINDQUIST", "MORALES", "REYES", "CRUZ", "ORTIZ", "GUTIERREZ", "CHAVEZ",
    "MENDOZA", "RUIZ", "ALVAREZ", "CASTILLO", "VARGAS",
)  # fmt: skip
FIRST_NAMES = (
    "JAMES", "MARY", "JOHN", "PATRICIA", "ROBERT", "JENNIFER", "MICHAEL", "LINDA", "WILLIAM", "ELIZABETH", "DAVID",
    "BARBARA", "RICHARD", "SUSAN", "JOSEPH", "JESSICA", "THOMAS", "SARAH", "CHARLES", "KAREN", "CHRISTOPHER",
    "LISA", "DANIEL", "NANCY", "MATTHEW", "BETTY", "ANTHONY", "MARGARET", "MARK", "SANDRA", "DONALD", "ASHLEY",
    "STEVEN", "KIMBERLY", "PAUL", "EMILY", "ANDREW", "DONNA", "JOSHUA", "MICHELLE", "KENNETH", "CAROL", "KEVIN",
    "AMANDA", "BRIAN", "MELISSA", "GEORGE", "DEBORAH", "JOSE", "MARIA", "JUAN", "ROSA", "LUIS", "CARMEN",
)  # fmt: skip
COMPANY_WORDS = (
    "TRI-CITY", "COLUMBIA", "CASCADE", "SAGEBRUSH", "BADGER MOUNTAIN", "RATTLESNAKE RIDGE", "YAKIMA RIVER",
    "HORSE HEAVEN", "DESERT", "BLUE MOUNTAIN", "EVERGREEN", "NORTHWEST", "PACIFIC", "INLAND", "SUNRISE", "GOLDEN",
    "RIVERVIEW", "CANYON", "HIGHLANDS", "VINEYARD",
)  # fmt: skip
COMPANY_KINDS = ("PROPERTIES", "HOLDINGS", "RENTALS", "INVESTMENTS", "REAL ESTATE", "HOMES", "VENTURES", "CAPITAL")
COMPANY_FORMS = ("LLC", "LLC", "LLC", "INC", "LP")
AWAY_PLACES = (
    ("SEATTLE", "WA", "98101"), ("SPOKANE", "WA", "99201"), ("YAKIMA", "WA", "98901"), ("PASCO", "WA", "99301"),
    ("WALLA WALLA", "WA", "99362"), ("BELLEVUE", "WA", "98004"), ("PORTLAND", "OR", "97201"),
    ("BOISE", "ID", "83702"), ("HERMISTON", "OR", "97838"), ("SCOTTSDALE", "AZ", "85251"),
)  # fmt: skip

# --- Pure kernels -----------------------------------------------------------------------------------


@dataclass
class Layout:
    """Parcels as quadrilaterals in blocks, in feet around the town centre (x east, y north)."""

    corners: np.ndarray  # (n, 4, 2) lot corners, counter-clockwise
    block: np.ndarray  # (n,) block index of each lot
    lot_in_block: np.ndarray  # (n,) 0-based lot number within its block
    lot_in_row: np.ndarray  # (n,) 0-based position along the street
    north_row: np.ndarray  # (n,) bool: fronts the street north of the block
    block_col: np.ndarray  # (blocks,) grid column, 0 at the town centre
    block_row: np.ndarray  # (blocks,) grid row, 0 at the town centre
    block_era: np.ndarray  # (blocks,) index into ERAS
    block_lots_per_row: np.ndarray  # (blocks,)

    @property
    def block_origin(self) -> np.ndarray:
        """South-west corner of each block, feet."""
        return np.column_stack((self.block_col * PITCH_X + STREET_W / 2, self.block_row * PITCH_Y + STREET_W / 2))

    @property
    def block_centre(self) -> np.ndarray:
        """Centre of each block, feet."""
        return self.block_origin + np.array([BLOCK_W / 2, BLOCK_D / 2])


def layout_generate(*, rng: np.random.Generator, parcels: int) -> Layout:
    """Blocks on a street grid filled from the centre outwards (core, suburbs, new, rural), cut into lots.

    Each block holds two back-to-back rows of lots; the lines between lots are jittered and slightly
    slanted, and the back line of each block is tilted, so lots are irregular quadrilaterals that share
    their edges exactly: they tile a block without overlaps or gaps.
    """
    # Enough candidate blocks for the worst case of every era, on a square grid.
    era_targets = np.diff(np.round(np.cumsum((0.0, *ERA_PARCEL_SHARES)) * parcels)).astype(int)
    worst = sum(math.ceil(t / (2 * min(lots))) + 1 for t, (lots, _) in zip(era_targets, ERA_LOTS_PER_ROW, strict=True))
    side_x = math.ceil(math.sqrt(3.0 * worst * PITCH_Y / PITCH_X)) + 2
    side_y = math.ceil(3.0 * worst / side_x) + 2
    cols, rows = np.meshgrid(np.arange(side_x) - side_x // 2, np.arange(side_y) - side_y // 2)
    cols, rows = cols.ravel(), rows.ravel()
    cx, cy = (cols + 0.5) * PITCH_X, (rows + 0.5) * PITCH_Y
    # Town grows outwards, with a lobed, ragged edge rather than a perfect circle.
    theta = np.arctan2(cy, cx)
    phase = rng.uniform(0, 2 * np.pi, 2)
    lobes = 1 + 0.18 * np.sin(3 * theta + phase[0]) + 0.08 * np.sin(5 * theta + phase[1])
    distance = np.hypot(cx, cy) / lobes + rng.normal(0, 0.8 * PITCH_Y, cx.size)
    order = np.argsort(distance, kind="stable")

    picked, lots_per_row, eras = [], [], []
    start, lots_so_far = 0, 0
    for era, ((choices, shares), target) in enumerate(zip(ERA_LOTS_PER_ROW, np.cumsum(era_targets), strict=True)):
        need = int(target) - lots_so_far
        if need <= 0:
            continue
        k = rng.choice(np.asarray(choices), size=math.ceil(need / (2 * min(choices))) + 1, p=shares)
        count = int(np.searchsorted(np.cumsum(2 * k), need)) + 1
        picked.append(order[start : start + count])
        lots_per_row.append(k[:count])
        eras.append(np.full(count, era))
        start += count
        lots_so_far += int(2 * k[:count].sum())
    picked_blocks = np.concatenate(picked)
    k = np.concatenate(lots_per_row)
    block_era = np.concatenate(eras)
    n_blocks = picked_blocks.size

    # Lots: blocks in order, each 2k lots (south row then north row), the last block cut at `parcels`.
    lots = 2 * k
    block = np.repeat(np.arange(n_blocks), lots)[:parcels]
    first_lot = np.cumsum(lots) - lots
    lot_in_block = np.arange(parcels) - first_lot[block]
    kb = k[block]
    north = lot_in_block >= kb
    i = lot_in_block % kb

    # Lot lines: k+1 per row of a block; the two ends are the block's sides, inner ones are jittered.
    n_lines = 2 * (k + 1)
    first_line = np.cumsum(n_lines) - n_lines
    line_block = np.repeat(np.arange(n_blocks), n_lines)
    line_index = (np.arange(n_lines.sum()) - first_line[line_block]) % (k[line_block] + 1)
    width = BLOCK_W / k[line_block]
    inner = (line_index > 0) & (line_index < k[line_block])
    front = line_index * width + inner * rng.uniform(-0.18, 0.18, line_index.size) * width
    back = front + inner * np.clip(rng.normal(0, 0.04, line_index.size), -0.1, 0.1) * width
    # The back line between the two rows: tilted and shifted a little per block.
    mid_shift = rng.uniform(-12, 12, n_blocks)
    mid_tilt = rng.uniform(-8, 8, n_blocks)

    left = first_line[block] + north * (kb + 1) + i
    right = left + 1
    xf_l, xf_r, xb_l, xb_r = front[left], front[right], back[left], back[right]

    def mid_y(x: np.ndarray) -> np.ndarray:
        return BLOCK_D / 2 + mid_shift[block] + mid_tilt[block] * (x - BLOCK_W / 2) / BLOCK_W

    street_y = np.where(north, BLOCK_D, 0.0)
    # Counter-clockwise: south-row lots start at the street, north-row lots at the back line.
    corners_south = np.stack(
        [np.column_stack(p) for p in ((xf_l, street_y), (xf_r, street_y), (xb_r, mid_y(xb_r)), (xb_l, mid_y(xb_l)))],
        axis=1,
    )
    corners_north = np.stack(
        [np.column_stack(p) for p in ((xb_l, mid_y(xb_l)), (xb_r, mid_y(xb_r)), (xf_r, street_y), (xf_l, street_y))],
        axis=1,
    )
    corners = np.where(north[:, None, None], corners_north, corners_south)
    layout = Layout(
        corners=corners,
        block=block,
        lot_in_block=lot_in_block,
        lot_in_row=i,
        north_row=north,
        block_col=cols[picked_blocks],
        block_row=rows[picked_blocks],
        block_era=block_era,
        block_lots_per_row=k,
    )
    layout.corners = corners + layout.block_origin[block][:, None, :]
    return layout


def polygon_area(corners: np.ndarray) -> np.ndarray:
    """Shoelace area of each polygon in an (n, m, 2) array of vertices."""
    x, y = corners[..., 0], corners[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))


def feet_to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Local feet around the town centre to WGS84 lon/lat (a local linear projection: exact enough for a town)."""
    phi = math.radians(CENTER_LAT)
    feet_per_m = 1 / 0.3048
    ft_per_deg_lat = (111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)) * feet_per_m
    ft_per_deg_lon = (111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)) * feet_per_m
    return np.stack((CENTER_LON + xy[..., 0] / ft_per_deg_lon, CENTER_LAT + xy[..., 1] / ft_per_deg_lat), axis=-1)


def neighborhoods_cluster(
    *, rng: np.random.Generator, points: np.ndarray, weights: np.ndarray, count: int, iterations: int = 15
) -> np.ndarray:
    """Weighted k-means of block centres: spatially contiguous neighborhoods of similar parcel counts.

    Returns each point's cluster label, 0..k-1 with no empty cluster.
    """
    count = min(count, points.shape[0])
    centres = points[rng.choice(points.shape[0], size=count, replace=False, p=weights / weights.sum())]
    labels = np.zeros(points.shape[0], dtype=np.int64)
    for _ in range(iterations):
        # In chunks, so a million-parcel county does not build a (blocks x clusters) matrix at once.
        for lo in range(0, points.shape[0], 8192):
            chunk = points[lo : lo + 8192]
            d2 = ((chunk[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            labels[lo : lo + 8192] = d2.argmin(axis=1)
        mass = np.bincount(labels, weights=weights, minlength=count)
        for axis in (0, 1):
            total = np.bincount(labels, weights=weights * points[:, axis], minlength=count)
            # An emptied cluster keeps its centre (and is dropped below if it stays empty).
            centres[:, axis] = np.where(mass > 0, total / np.maximum(mass, 1e-9), centres[:, axis])
    used = np.unique(labels)
    return np.searchsorted(used, labels)


def _ordinal(n: int) -> str:
    suffix = "TH" if 10 <= n % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(n % 10, "TH")
    return f"{n}{suffix}"


def _rank_within(groups: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """0-based rank of each element within its group, ordered by `keys` (last key most significant)."""
    order = np.lexsort((*keys, groups))
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, sorted_groups.size]))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size) - first
    return rank


def _cut_by_shares(latent: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Ordinal categories from a latent score, cut at its quantiles so the categories get `shares`."""
    if latent.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.searchsorted(np.quantile(latent, np.cumsum(shares)[:-1]), latent, side="right")


@dataclass
class Characteristics:
    """Per-parcel characteristics; improved-only fields are meaningless where `vacant`."""

    class_index: np.ndarray  # into CLASS_CODES
    vacant: np.ndarray
    living_area: np.ndarray  # sq ft (0 where vacant)
    year_built: np.ndarray  # 0 where vacant
    effective_year: np.ndarray  # 0 where vacant
    quality: np.ndarray  # index into QUALITY_CODES
    condition: np.ndarray  # index into CONDITION_CODES
    bedrooms: np.ndarray  # 0 where vacant or commercial
    bathrooms: np.ndarray  # halves
    land_sqft: np.ndarray
    neighborhood: np.ndarray  # 0..m-1
    block_year: np.ndarray  # year the block was developed


def characteristics_generate(
    *, rng: np.random.Generator, layout: Layout, neighborhood: np.ndarray, working_year: int
) -> Characteristics:
    """Characteristics whose distributions and correlations resemble a Tri-Cities residential county."""
    n = layout.block.size
    era = layout.block_era[layout.block]
    last_year = working_year - 1
    era_years = np.array([(1940, 1970), (1970, 2000), (2000, last_year), (1950, last_year)], dtype=float)
    # Subdivisions are built within a few years; some older lots were rebuilt (infill).
    block_year = rng.uniform(era_years[layout.block_era, 0], era_years[layout.block_era, 1])
    year_built = np.round(block_year[layout.block] + rng.normal(0, 2.0, n))
    infill = (era <= 1) & (rng.random(n) < 0.07)
    year_built = np.where(infill, rng.uniform(1995, last_year, n).round(), year_built)
    year_built = np.clip(year_built, 1900, last_year).astype(np.int64)
    # Older houses are more often remodelled; a remodel moves the effective year part way to today.
    age = last_year - year_built
    remodelled = rng.random(n) < np.clip(age / 80, 0, 0.6)
    effective_year = year_built + np.where(remodelled, np.round(rng.uniform(0.3, 0.8, n) * age), 0).astype(np.int64)

    class_shares = np.asarray(ERA_CLASS_SHARES)[era]
    class_index = (rng.random(n)[:, None] > np.cumsum(class_shares, axis=1)[:, :-1]).sum(axis=1)
    vacant = class_index == CLASS_CODES.index(VACANT_CLASS)

    log_area = np.log(1800) + np.asarray(ERA_AREA_SHIFT)[era] + rng.normal(0, 0.30, n)
    log_area += np.select([class_index == 1, class_index == 2, class_index == 3], [0.35, 0.6, 0.5], 0.0)
    living_area = np.clip(np.exp(log_area), 500, 6000).round().astype(np.int64)

    # Quality follows size, era and the neighborhood's standing; condition follows effective age.
    nbhd_quality = rng.normal(0, 0.6, neighborhood.max() + 1)[neighborhood]
    size_z = (np.log(living_area) - np.log(1800)) / 0.3
    quality = _cut_by_shares(
        0.5 * size_z + 0.4 * (era == 2) - 0.3 * (era == 0) + nbhd_quality + rng.normal(0, 0.8, n), QUALITY_SHARES
    )
    effective_age = last_year - effective_year
    condition = _cut_by_shares(-effective_age / 25 + rng.normal(0, 1.0, n), CONDITION_SHARES)

    commercial = class_index == CLASS_CODES.index("51")
    bedrooms = np.clip(np.round(0.6 + living_area / 700 + rng.normal(0, 0.5, n)), 1, 7).astype(np.int64)
    bedrooms = np.where(vacant | commercial, 0, bedrooms)
    bathrooms = np.clip(np.round(2 * (0.4 + living_area / 1100 + rng.normal(0, 0.3, n))) / 2, 1.0, 4.5)
    bathrooms = np.where(vacant, 0.0, bathrooms)

    return Characteristics(
        class_index=class_index,
        vacant=vacant,
        living_area=np.where(vacant, 0, living_area),
        year_built=np.where(vacant, 0, year_built),
        effective_year=np.where(vacant, 0, effective_year),
        quality=quality,
        condition=condition,
        bedrooms=bedrooms,
        bathrooms=bathrooms,
        land_sqft=np.round(polygon_area(layout.corners), 2),
        neighborhood=neighborhood,
        block_year=np.round(block_year[layout.block]).astype(np.int64),
    )


def _round_to(values: np.ndarray, step: int) -> np.ndarray:
    return (np.round(values / step) * step).astype(np.int64)


@dataclass
class RollValues:
    land: np.ndarray
    improvement: np.ndarray
    market: np.ndarray


def values_generate(
    *, rng: np.random.Generator, model: DemoModel, chars: Characteristics, neighborhood_effect: np.ndarray,
    roll_years: tuple[int, ...], trend_base: np.datetime64,
) -> dict[int, RollValues]:  # fmt: skip
    """Roll values as of 1 January of each roll year: the model's mean price with assessment error.

    market = land + improvement exactly (assessed = market); land follows the vacant-land model with the
    same error and is at most 80% of market; vacant parcels are all land.
    """
    n = chars.class_index.size
    m = neighborhood_effect.size
    parcel_error = rng.normal(0, model.assessment_sd_parcel, n)
    result = {}
    for year in roll_years:
        date = np.datetime64(f"{year}-01-01")
        mu = log_price_mean(
            model=model, chars=chars, neighborhood_effect=neighborhood_effect, dates=date, trend_base=trend_base
        )
        error = (
            math.log(model.assessment_level)
            + model.assessment_regressivity * (mu - mu.mean())
            + parcel_error
            + rng.normal(0, model.assessment_sd_year, n)
            + rng.normal(0, model.assessment_sd_neighborhood, m)[chars.neighborhood]
        )
        market = np.maximum(_round_to(np.exp(mu + error), 100), 1000)
        land_mu = (
            model.vacant_intercept
            + model.vacant_b_land * np.log(chars.land_sqft)
            + neighborhood_effect[chars.neighborhood]
            + model.trend_per_month * months_since(np.full(n, date), trend_base)
        )
        cap = (np.floor(0.8 * market / 100) * 100).astype(np.int64)
        land = np.where(chars.vacant, market, np.minimum(_round_to(np.exp(land_mu + error), 100), cap))
        result[year] = RollValues(land=land, improvement=market - land, market=market)
    return result


@dataclass
class Sales:
    parcel: np.ndarray  # index of the parcel sold
    date: np.ndarray  # datetime64[D]
    price: np.ndarray
    kind: np.ndarray  # index into SALE_KINDS
    deed: np.ndarray  # deed type strings
    sale_id: np.ndarray
    excise_number: np.ndarray  # strings


def sales_generate(
    *, rng: np.random.Generator, model: DemoModel, chars: Characteristics, neighborhood_effect: np.ndarray,
    years: tuple[int, ...], trend_base: np.datetime64,
) -> Sales:  # fmt: skip
    """Each year 8-12% of parcels sell (some parcels in several years), more in summer; prices follow
    the model at the sale date with noise; about 17% are invalid with off-market prices.

    A house sells only from the year it was built; sales are numbered (sale id, excise number) in date order.
    """
    n = chars.class_index.size
    parcels, dates = [], []
    month_p = SALE_MONTH_WEIGHTS / SALE_MONTH_WEIGHTS.sum()
    for year in years:
        eligible = np.flatnonzero(chars.year_built <= year)  # vacant parcels have year_built 0
        count = min(round(rng.uniform(*SALE_TURNOVER) * n), eligible.size)
        parcels.append(rng.choice(eligible, size=count, replace=False))
        month_start = np.datetime64(f"{year}-01", "M") + rng.choice(12, size=count, p=month_p)
        days = (month_start + 1).astype("datetime64[D]") - month_start.astype("datetime64[D]")
        offset = np.floor(rng.random(count) * days.astype(np.int64)).astype("timedelta64[D]")
        dates.append(month_start.astype("datetime64[D]") + offset)
    parcel = np.concatenate(parcels).astype(np.int64)
    date = np.concatenate(dates)
    total = parcel.size

    kind = rng.choice(len(SALE_KINDS), size=total, p=[k.share for k in SALE_KINDS])
    factor = np.ones(total)
    deed = np.empty(total, dtype=object)
    for i, sale_kind in enumerate(SALE_KINDS):
        mask = kind == i
        factor[mask] = rng.uniform(*sale_kind.price_factor, mask.sum())
        deed[mask] = np.asarray(sale_kind.deeds, dtype=object)[
            rng.choice(len(sale_kind.deeds), size=mask.sum(), p=sale_kind.deed_shares)
        ]
    mu = log_price_mean(
        model=model, chars=chars, neighborhood_effect=neighborhood_effect, dates=date, trend_base=trend_base,
        index=parcel,
    )  # fmt: skip
    price = np.maximum(_round_to(np.exp(mu + rng.normal(0, model.sigma, total)) * factor, 500), 1000)

    # Number the sales in date order, as a recorder's office would.
    order = np.lexsort((parcel, date))
    parcel, date, price, kind, deed = parcel[order], date[order], price[order], kind[order], deed[order]
    sale_id = 1_000_000 + np.cumsum(rng.integers(1, 6, total))
    year = date.astype("datetime64[Y]").astype(np.int64) + 1970
    seq = _rank_within(year, np.arange(total)) + 1
    excise = np.asarray([f"{y}{q:06d}" for y, q in zip(year.tolist(), seq.tolist(), strict=True)], dtype=object)
    return Sales(parcel=parcel, date=date, price=price, kind=kind, deed=deed, sale_id=sale_id, excise_number=excise)


def last_sales(*, sales: Sales, parcels: int) -> tuple[np.ndarray, np.ndarray]:
    """Index of each parcel's latest sale (by date, then sale id), -1 where it never sold."""
    order = np.lexsort((sales.sale_id, sales.date, sales.parcel))
    sorted_parcel = sales.parcel[order]
    is_last = np.ones(sorted_parcel.size, dtype=bool)
    is_last[:-1] = sorted_parcel[1:] != sorted_parcel[:-1]
    latest = np.full(parcels, -1, dtype=np.int64)
    latest[sorted_parcel[is_last]] = order[is_last]
    return latest, latest >= 0


# --- Text: names, addresses, legal descriptions, parcel numbers -----------------------------------


@dataclass
class NeighborhoodInfo:
    codes: list[str]
    names: list[str]
    city: np.ndarray  # index into CITIES, per neighborhood
    zip_code: list[str]
    effect: np.ndarray  # location effect (log), rounded as stored


def neighborhoods_describe(
    *, rng: np.random.Generator, layout: Layout, labels: np.ndarray, model: DemoModel
) -> tuple[NeighborhoodInfo, np.ndarray]:
    """Cities, ZIP codes, codes, names and location effects of the neighborhoods.

    The west side becomes Prosser, Benton City and West Richland; the rest splits north (Richland) and
    south (Kennewick). Neighborhoods are renumbered city by city, north to south, so codes read in order.
    Returns the info and the parcels' neighborhood indexes in the new numbering.
    """
    count = int(labels.max()) + 1
    parcels_per = np.bincount(labels[layout.block], minlength=count).astype(float)
    centre = layout.block_centre
    cx, cy = (
        np.bincount(labels[layout.block], weights=centre[layout.block, axis], minlength=count)
        / np.maximum(parcels_per, 1)
        for axis in (0, 1)
    )

    city = np.full(count, -1)
    west_to_east = np.argsort(cx, kind="stable")
    before = np.cumsum(parcels_per[west_to_east]) - parcels_per[west_to_east]
    share_before = before / parcels_per.sum()
    bounds = np.cumsum(CITY_WEST_SHARES)
    for position, cluster in enumerate(west_to_east):
        west_city = int(np.searchsorted(bounds, share_before[position], side="right"))
        if west_city < len(CITY_WEST_SHARES):
            city[cluster] = west_city
    east = city < 0
    if east.any():
        median_y = np.median(cy[east])
        city[east] = np.where(cy[east] >= median_y, 3, 4)  # Richland north, Kennewick south

    # Renumber: city by city, north to south, then west to east.
    new_order = np.lexsort((cx, -cy, city))
    renumber = np.empty(count, dtype=np.int64)
    renumber[new_order] = np.arange(count)
    city, cx, cy = city[new_order], cx[new_order], cy[new_order]

    codes, zips = [], []
    for position in range(count):
        _, city_zips, prefix = CITIES[city[position]]
        same_city = np.flatnonzero(city == city[position])
        rank_in_city = int(np.sum(city[:position] == city[position]))
        codes.append(f"{prefix}{rank_in_city + 1:03d}")
        # ZIPs split the city's neighborhoods west to east.
        x_rank = int(np.sum(cx[same_city] < cx[position]))
        zips.append(city_zips[min(x_rank * len(city_zips) // max(same_city.size, 1), len(city_zips) - 1)])
    name_pairs = rng.permutation(len(NAME_PREFIXES) * len(NAME_SUFFIXES))[:count]
    names = [f"{NAME_PREFIXES[p // len(NAME_SUFFIXES)]} {NAME_SUFFIXES[p % len(NAME_SUFFIXES)]}" for p in name_pairs]

    block_labels = renumber[labels]
    era_mix = np.bincount(block_labels[layout.block], weights=np.asarray(ERA_EFFECT)[layout.block_era[layout.block]])
    effect = rng.normal(0, model.neighborhood_sd, count) + era_mix / np.maximum(
        np.bincount(block_labels[layout.block]), 1
    )
    info = NeighborhoodInfo(codes=codes, names=names, city=city, zip_code=zips, effect=np.round(effect, 4))
    return info, block_labels


def owners_generate(
    *, rng: np.random.Generator, class_index: np.ndarray, situs: list[str], city_line: list[str]
) -> tuple[list[str], list[str]]:
    """Owner names (individuals and couples, trusts, companies) and mailing addresses, as a roll prints them."""
    n = class_index.size
    business = class_index >= CLASS_CODES.index("13")  # apartments, commercial and much vacant land
    p_company = np.where(business, 0.6, np.where(class_index == 1, 0.35, 0.06))
    p_trust = np.where(business, 0.05, 0.08)
    u = rng.random(n)
    kind = np.where(u < p_company, 2, np.where(u < p_company + p_trust, 1, 0))  # 0 person, 1 trust, 2 company
    last = np.asarray(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    first = np.asarray(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    second = np.asarray(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    initial = np.asarray(list(" ABCDEFGHJKLMNPRSTW"), dtype=object)[rng.integers(0, 19, n)]
    couple = rng.random(n) < 0.55
    style = rng.integers(0, 3, n)
    company = [
        f"{COMPANY_WORDS[a]} {COMPANY_KINDS[b]} {COMPANY_FORMS[c]}"
        for a, b, c in zip(
            rng.integers(0, len(COMPANY_WORDS), n).tolist(),
            rng.integers(0, len(COMPANY_KINDS), n).tolist(),
            rng.integers(0, len(COMPANY_FORMS), n).tolist(),
            strict=True,
        )
    ]
    names = []
    for k, la, fi, se, ini, cp, st, co in zip(
        kind.tolist(), last.tolist(), first.tolist(), second.tolist(), initial.tolist(), couple.tolist(),
        style.tolist(), company, strict=True,
    ):  # fmt: skip
        if k == 2:
            names.append(co)
        elif k == 1:
            names.append((f"{la} FAMILY TRUST", f"{la} LIVING TRUST", f"{la}, {fi} TRUSTEE")[st])
        elif cp and fi != se:
            names.append(f"{la}, {fi} & {se}")
        else:
            names.append(f"{la}, {fi} {ini}".rstrip())

    # Most owners live at the property; companies and some others get mail elsewhere.
    p_away = np.where(kind == 2, 0.7, 0.1)
    away = rng.random(n) < p_away
    po_box = rng.random(n) < 0.4
    box = rng.integers(100, 9999, n)
    place = rng.integers(0, len(AWAY_PLACES), n)
    street_no = rng.integers(100, 29999, n)
    street = np.asarray(("MAIN ST", "1ST AVE", "OAK ST", "PINE ST", "WASHINGTON ST", "PARK AVE"), dtype=object)[
        rng.integers(0, 6, n)
    ]
    addresses = []
    for aw, pb, here, line, bx, pl, no, st in zip(
        away.tolist(), po_box.tolist(), situs, city_line, box.tolist(), place.tolist(), street_no.tolist(),
        street.tolist(), strict=True,
    ):  # fmt: skip
        if not aw:
            addresses.append(f"{here}, {line}")
        elif pb:
            addresses.append(f"PO BOX {bx}, {line}")
        else:
            city, state, zip_code = AWAY_PLACES[pl]
            addresses.append(f"{no} {st}, {city}, {state} {zip_code}")
    return names, addresses


def parcel_numbers(*, layout: Layout) -> list[str]:
    """Benton-style geo_ids: 1-SSTR-BBB-LLLL-000 (section, township, range digits; block in section; lot).

    Sections follow the township grid (36 one-mile sections, numbered boustrophedon from the north-east);
    the town centre sits in T8N R29E.
    """
    origin = layout.block_origin
    mile_x = np.floor(origin[:, 0] / 5280).astype(np.int64) + 12
    mile_y = np.floor(origin[:, 1] / 5280).astype(np.int64) + 12
    range_no, township = 27 + mile_x // 6, 6 + mile_y // 6
    col, row = mile_x % 6, 5 - mile_y % 6
    section = np.where(row % 2 == 0, row * 6 + (6 - col), row * 6 + col + 1)
    section_key = mile_y * 100_000 + mile_x
    block_in_section = _rank_within(section_key, layout.block_col, -layout.block_row) + 1
    b = layout.block
    return [
        f"1-{s:02d}{t % 10}{r % 10}-{blk:03d}-{lot:04d}-000"
        for s, t, r, blk, lot in zip(
            section[b].tolist(), township[b].tolist(), range_no[b].tolist(), block_in_section[b].tolist(),
            (layout.lot_in_block + 1).tolist(), strict=True,
        )
    ]  # fmt: skip


def situs_addresses(*, layout: Layout) -> list[str]:
    """House number and avenue: avenues numbered from the north, W/E of the centre line, 100 numbers a block.

    North-side lots of an avenue get even numbers, south-side lots odd ones.
    """
    row = layout.block_row[layout.block]
    avenue = row.max() + 2 - (row + layout.north_row)  # the street a lot fronts, 1 at the north edge
    col = layout.block_col[layout.block]
    k = layout.block_lots_per_row[layout.block]
    frac = (layout.lot_in_row + 0.5) / k
    east = col >= 0
    base = np.where(east, 100 * (col + 1), 100 * (-col))
    offset = np.where(east, frac, 1 - frac) * 96
    number = base + 2 * np.floor(offset / 2).astype(np.int64) + 2 + np.where(layout.north_row, 1, 0)
    prefix = np.where(east, "E", "W")
    names = {a: _ordinal(a) for a in np.unique(avenue).tolist()}
    return [
        f"{n} {p} {names[a]} AVE" for n, p, a in zip(number.tolist(), prefix.tolist(), avenue.tolist(), strict=True)
    ]


def legal_descriptions(*, layout: Layout, block_nbhd: np.ndarray, nbhd_names: list[str]) -> list[str]:
    """LOT l BLOCK b <PLAT>: each neighborhood platted in phases of up to 20 blocks."""
    rank = _rank_within(block_nbhd, layout.block_col, -layout.block_row)
    phases = np.bincount(block_nbhd) > 20
    plat = [
        f"{nbhd_names[nb].upper()} PHASE {r // 20 + 1}" if phases[nb] else nbhd_names[nb].upper()
        for nb, r in zip(block_nbhd.tolist(), rank.tolist(), strict=True)
    ]
    block_no = (rank % 20 + 1).tolist()
    return [
        f"LOT {lot} BLOCK {block_no[b]} {plat[b]}"
        for lot, b in zip((layout.lot_in_block + 1).tolist(), layout.block.tolist(), strict=True)
    ]


# --- Everything, in a fixed order -----------------------------------------------------------------


@dataclass
class DemoData:
    """All the generated arrays and texts of a demo county, ready to write."""

    working_year: int
    certified_year: int
    model: DemoModel
    trend_base: np.datetime64
    neighborhoods: NeighborhoodInfo
    chars: Characteristics
    polygons: np.ndarray  # shapely polygons, lon/lat
    property_ids: np.ndarray
    parcel_numbers: list[str]
    situs: list[str]
    situs_city: list[str]
    situs_zip: list[str]
    owner_names: list[str]
    owner_addresses: list[str]
    legal: list[str]
    values: dict[int, RollValues]
    sales: Sales
    latest_sale: np.ndarray = field(repr=False)

    def model_json(self, *, seed: int) -> dict:
        """The truth, as stored in `county.settings["demo_model"]`."""
        return demo_model_json(
            model=self.model,
            seed=seed,
            neighborhood_effects=dict(zip(self.neighborhoods.codes, self.neighborhoods.effect.tolist(), strict=True)),
            trend_base=self.trend_base,
            certified_year=self.certified_year,
            working_year=self.working_year,
        )


def demo_data_generate(*, parcels: int, seed: int, working_year: int, model: DemoModel = DEMO_MODEL) -> DemoData:
    """Generate a whole county in memory, without the database: same (parcels, seed, year), same data."""
    rng = np.random.Generator(np.random.PCG64(seed))
    layout = layout_generate(rng=rng, parcels=parcels)

    # Neighborhoods: about one per 800 parcels, between 5 and 200.
    n_blocks = layout.block_col.size
    block_weight = np.bincount(layout.block, minlength=n_blocks).astype(float)
    centre = layout.block_centre
    used = block_weight > 0
    labels_used = neighborhoods_cluster(
        rng=rng, points=centre[used], weights=block_weight[used], count=int(np.clip(round(parcels / 800), 5, 200))
    )
    labels = np.zeros(n_blocks, dtype=np.int64)
    labels[used] = labels_used
    nbhd, block_nbhd = neighborhoods_describe(rng=rng, layout=layout, labels=labels, model=model)
    parcel_nbhd = block_nbhd[layout.block]

    chars = characteristics_generate(rng=rng, layout=layout, neighborhood=parcel_nbhd, working_year=working_year)
    trend_base = np.datetime64(f"{working_year - SALE_YEARS}-01-01")
    certified_year = working_year - 1
    values = values_generate(
        rng=rng, model=model, chars=chars, neighborhood_effect=nbhd.effect,
        roll_years=(certified_year, working_year), trend_base=trend_base,
    )  # fmt: skip
    sales = sales_generate(
        rng=rng, model=model, chars=chars, neighborhood_effect=nbhd.effect,
        years=tuple(range(working_year - SALE_YEARS, working_year)), trend_base=trend_base,
    )  # fmt: skip
    latest, _ = last_sales(sales=sales, parcels=parcels)

    # PACS prop_ids grow as parcels are created: older subdivisions have lower ids, with gaps.
    created = np.where(chars.vacant, chars.block_year, chars.year_built) + rng.random(parcels)
    property_ids = np.empty(parcels, dtype=np.int64)
    property_ids[np.argsort(created, kind="stable")] = 100_000 + np.cumsum(rng.integers(1, 12, parcels))

    city = nbhd.city[parcel_nbhd]
    city_names = np.asarray([c[0] for c in CITIES], dtype=object)[city].tolist()
    zips = np.asarray(nbhd.zip_code, dtype=object)[parcel_nbhd].tolist()
    situs = situs_addresses(layout=layout)
    city_line = [f"{c}, WA {z}" for c, z in zip(city_names, zips, strict=True)]
    owner_names, owner_addresses = owners_generate(
        rng=rng, class_index=chars.class_index, situs=situs, city_line=city_line
    )
    return DemoData(
        working_year=working_year,
        certified_year=certified_year,
        model=model,
        trend_base=trend_base,
        neighborhoods=nbhd,
        chars=chars,
        polygons=shapely.polygons(feet_to_lonlat(layout.corners)),
        property_ids=property_ids,
        parcel_numbers=parcel_numbers(layout=layout),
        situs=situs,
        situs_city=city_names,
        situs_zip=zips,
        owner_names=owner_names,
        owner_addresses=owner_addresses,
        legal=legal_descriptions(layout=layout, block_nbhd=block_nbhd, nbhd_names=nbhd.names),
        values=values,
        sales=sales,
        latest_sale=latest,
    )
