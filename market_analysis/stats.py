"""Ratio-study statistics (IAAO Standard on Ratio Studies): pure numpy over arrays of values and sale prices.

No Django and no database: every function takes `values` (assessed or estimated) and `prices` (sale prices,
already adjusted for time or personal property if the study asks for it), checks them with `ratio_inputs`
and returns plain numbers or small dataclasses with `as_dict()` for JSON. scipy.special gives the quantiles
and tails of the t, normal and binomial distributions (scipy.stats would cost every process a second to import).

- Level: `median_ratio`, `mean_ratio`, `weighted_mean_ratio`.
- Uniformity: `cod`. Vertical equity: `prd`, `prb` (slope and its confidence interval), `gini_indices`
  (MKI and KI), `vei` (the Vertical Equity Indicator of the IAAO's 2025-2026 exposure drafts).
- `bootstrap_ci`: percentile confidence intervals of median, COD and PRD for many groups (strata) at once.
- `iqr_trim`: IAAO outlier fences; `sales_chasing`: the distribution and jump-in-CDF tests.
- `ratio_statistics` computes all point statistics of one sample; `standards_judge` says pass/fail.
"""

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy import special

# Fewest sales a statistic is computed from (a ratio of one sale is no study), and VEI's (the draft's 20).
MIN_SALES = 2
VEI_MIN_SALES = 20


class RatioInputError(ValueError):
    """Values and prices a ratio statistic cannot be computed from; the message says which and why."""


def ratio_inputs(values, prices, *, min_sales: int = MIN_SALES) -> tuple[np.ndarray, np.ndarray]:
    """`values` and `prices` as float64 arrays, after checking them: same length, at least `min_sales`,
    every one finite and above zero."""
    v = np.asarray(values, dtype=np.float64).ravel()
    p = np.asarray(prices, dtype=np.float64).ravel()
    if v.size != p.size:
        raise RatioInputError(f"values and prices differ in length ({v.size} values, {p.size} prices).")
    if v.size < min_sales:
        raise RatioInputError(f"At least {min_sales} sales are needed, not {v.size}.")
    for name, array in (("values", v), ("prices", p)):
        bad = ~np.isfinite(array)
        if bad.any():
            raise RatioInputError(
                f"{name} must be finite: {int(bad.sum())} are NaN or infinite (first at {_first(bad)})."
            )
        bad = array <= 0
        if bad.any():
            raise RatioInputError(f"{name} must be above zero: {int(bad.sum())} are not (first at {_first(bad)}).")
    return v, p


def _first(mask: np.ndarray) -> str:
    return f"index {int(np.argmax(mask))}"


def median_ratio(values, prices) -> float:
    v, p = ratio_inputs(values, prices)
    return float(np.median(v / p))


def mean_ratio(values, prices) -> float:
    v, p = ratio_inputs(values, prices)
    return float(np.mean(v / p))


def weighted_mean_ratio(values, prices) -> float:
    """The aggregate ratio: total value over total price (each sale weighted by its price)."""
    v, p = ratio_inputs(values, prices)
    return float(v.sum() / p.sum())


def cod(values, prices) -> float:
    """Coefficient of dispersion: 100 x the mean absolute deviation from the median ratio, over the median."""
    v, p = ratio_inputs(values, prices)
    r = v / p
    return _cod(r, float(np.median(r)))


def prd(values, prices) -> float:
    """Price-related differential: mean ratio over the weighted mean ratio (above 1: regressive)."""
    v, p = ratio_inputs(values, prices)
    return _prd(v, p, v / p)


def _cod(r: np.ndarray, median: float) -> float:
    return float(100.0 * np.mean(np.abs(r - median)) / median)


def _prd(v: np.ndarray, p: np.ndarray, r: np.ndarray) -> float:
    return float(r.mean() / (v.sum() / p.sum()))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class PRBResult:
    """Coefficient of price-related bias: the % change in ratio when value doubles, with its interval."""

    prb: float
    ci: Interval
    confidence: float
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


def prb(values, prices, *, confidence: float = 0.95) -> PRBResult:
    """PRB: the slope b of (r - med)/med = a + b * log2((v/med + p) / 2), by least squares; its interval is
    b -/+ t(n-2) x its standard error. Negative: regressive."""
    v, p = ratio_inputs(values, prices, min_sales=3)
    r = v / p
    median = np.median(r)
    y = (r - median) / median
    x = np.log2((v / median + p) / 2.0)
    x_centered = x - x.mean()
    sxx = float(x_centered @ x_centered)
    if sxx == 0.0:
        raise RatioInputError("PRB needs sales of different values: every value proxy is the same.")
    slope = float(x_centered @ (y - y.mean()) / sxx)
    residuals = y - y.mean() - slope * x_centered
    n = r.size
    se = math.sqrt(float(residuals @ residuals) / (n - 2) / sxx)
    half = float(special.stdtrit(n - 2, 0.5 + confidence / 2)) * se
    return PRBResult(prb=slope, ci=Interval(slope - half, slope + half), confidence=confidence, n=n)


def gini_indices(values, prices) -> tuple[float, float]:
    """(MKI, KI): the modified Kakwani index (Gini of values over Gini of prices) and the Kakwani index (their
    difference), both Gini coefficients taken over the sales ordered by price (Quintos 2020). MKI below 1:
    regressive."""
    v, p = ratio_inputs(values, prices)
    order = np.argsort(p, kind="stable")
    v, p = v[order], p[order]
    n = v.size
    rank = np.arange(1, n + 1, dtype=np.float64)

    def gini(x: np.ndarray) -> float:
        return float((2.0 * (x @ rank) / x.sum() - (n + 1)) / n)

    gini_values, gini_prices = gini(v), gini(p)
    if gini_prices == 0.0:
        raise RatioInputError("MKI needs sales of different prices: every price is the same.")
    return gini_values / gini_prices, gini_values - gini_prices


def rank_interval(sorted_ratios: np.ndarray, *, confidence: float) -> Interval:
    """The rank-based (distribution-free) interval of a median: the sorted ratios at positions
    ceil(n/2 - z sqrt(n)/2) and floor(1 + n/2 + z sqrt(n)/2), counting from 1, clipped to the sample."""
    n = sorted_ratios.size
    z = float(special.ndtri(0.5 + confidence / 2))
    low = min(max(math.ceil(n / 2 - z * math.sqrt(n) / 2), 1), n)
    high = min(max(math.floor(1 + n / 2 + z * math.sqrt(n) / 2), 1), n)
    return Interval(float(sorted_ratios[low - 1]), float(sorted_ratios[high - 1]))


@dataclass(frozen=True)
class VEIGroup:
    n: int
    median: float
    ci: Interval
    proxy_low: float  # the group's range of the value proxy
    proxy_high: float


@dataclass(frozen=True)
class VEIResult:
    """The Vertical Equity Indicator: the top value group's median ratio less the bottom one's, in % of the
    sample median (negative: regressive), and how far apart their intervals are (above 0: significant)."""

    vei: float
    significance: float
    is_significant: bool
    sample_median: float
    confidence: float
    groups: list[VEIGroup] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def vei_group_count(n: int) -> int:
    """The draft's number of value groups: 2 for 20-50 sales, 4 for 51-500, 10 above."""
    if n < VEI_MIN_SALES:
        raise RatioInputError(f"VEI needs at least {VEI_MIN_SALES} sales, not {n}.")
    return 2 if n <= 50 else 4 if n <= 500 else 10


def vei(values, prices, *, confidence: float = 0.90) -> VEIResult:
    """The VEI as the IAAO's May 2026 exposure draft defines it (`../shared/data/iaao/README.md`).

    Each sale's value proxy is 0.5 x price + 0.5 x value / sample median ratio; sales are grouped by the
    proxy's percentiles (numpy's linear ones); each group's median has a rank-based interval. The draft's
    significance, (top group's lower bound - bottom group's upper bound) / median, is written for a positive
    VEI; for a negative one the same gap is measured the other way (bottom's lower bound - top's upper
    bound), so that above 0 means "the intervals do not overlap" either way.
    """
    v, p = ratio_inputs(values, prices)
    count = vei_group_count(v.size)
    r = v / p
    median = float(np.median(r))
    proxy = 0.5 * p + 0.5 * v / median
    edges = np.percentile(proxy, np.linspace(0, 100, count + 1)[1:-1])
    group_of = np.searchsorted(edges, proxy, side="left")
    order = np.lexsort((r, group_of))  # by group, then ratio: each group's ratios come sorted
    bounds = np.searchsorted(group_of[order], np.arange(count + 1))
    groups = []
    for g in range(count):
        members = order[bounds[g] : bounds[g + 1]]
        if members.size == 0:  # ties in the proxy can empty a group
            continue
        ratios = r[members]
        middle = (members.size - 1) // 2
        groups.append(
            VEIGroup(
                n=int(members.size),
                median=float((ratios[middle] + ratios[members.size // 2]) / 2),
                ci=rank_interval(ratios, confidence=confidence),
                proxy_low=float(proxy[members].min()),
                proxy_high=float(proxy[members].max()),
            )
        )
    bottom, top = groups[0], groups[-1]
    indicator = 100.0 * (top.median - bottom.median) / median
    # The gap between the two intervals, positive when they do not overlap.
    gap = top.ci.low - bottom.ci.high if indicator >= 0 else bottom.ci.low - top.ci.high
    significance = 100.0 * gap / median
    return VEIResult(
        vei=indicator,
        significance=significance,
        is_significant=significance > 0,
        sample_median=median,
        confidence=confidence,
        groups=groups,
    )


@dataclass(frozen=True)
class RatioStatistics:
    """The point statistics of one sample (`ratio_statistics`)."""

    n: int
    median: float
    mean: float
    weighted_mean: float
    cod: float
    prd: float
    prb: PRBResult | None
    mki: float | None
    ki: float | None
    vei: VEIResult | None
    median_ci: Interval  # rank-based
    min_ratio: float
    max_ratio: float

    def as_dict(self) -> dict:
        return asdict(self)


def ratio_statistics(values, prices, *, confidence: float = 0.95) -> RatioStatistics:
    """Every point statistic of one sample, PRB's and the median's (rank) intervals at `confidence`. PRB needs
    3 sales and VEI 20: below that they are None, as are MKI/KI and PRB when every price is the same."""
    v, p = ratio_inputs(values, prices)
    r = v / p
    ordered = np.sort(r)
    median = float(np.median(ordered))
    try:
        slope = prb(v, p, confidence=confidence)
    except RatioInputError:
        slope = None
    try:
        mki, ki = gini_indices(v, p)
    except RatioInputError:
        mki = ki = None
    try:
        indicator = vei(v, p)
    except RatioInputError:
        indicator = None
    return RatioStatistics(
        n=int(r.size),
        median=median,
        mean=float(r.mean()),
        weighted_mean=float(v.sum() / p.sum()),
        cod=_cod(r, median),
        prd=_prd(v, p, r),
        prb=slope,
        mki=mki,
        ki=ki,
        vei=indicator,
        median_ci=rank_interval(ordered, confidence=confidence),
        min_ratio=float(ordered[0]),
        max_ratio=float(ordered[-1]),
    )


# -- bootstrap ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile intervals of one group's median, COD and PRD (None where the group has under 2 sales)."""

    n: int
    median: Interval | None
    cod: Interval | None
    prd: Interval | None

    def as_dict(self) -> dict:
        return asdict(self)


BLOCK_ELEMENTS = 1 << 21  # resampled sales held at once per group (16 MB of float64)


def bootstrap_ci(
    values, prices, groups=None, *, resamples: int = 1000, confidence: float = 0.95,
    seed: int | np.random.SeedSequence | None = None, workers: int = 2,
) -> dict:  # fmt: skip
    """Bootstrap percentile intervals of median, COD and PRD for every group at once: {group: BootstrapCI}.

    Each group (e.g. a stratum's label per sale; None: one group, key None) is resampled within itself,
    `resamples` times. The same `seed` gives the same intervals, however many `workers` threads share the
    work: each block of a group's resamples draws from its own stream, spawned from the seed in the order
    of the group keys, so a large group's blocks run in parallel too.

    Vectorised: a group's resamples are drawn as blocks of (resamples x n) indexes into its sales
    (`_resample`), with no loop over resamples. numpy releases the GIL in all of it, so the threads run
    on separate cores. Statistics of resamples are computed in float32 (the intervals' 7 digits are
    more than their sampling error needs); the point estimates elsewhere are float64.
    """
    v, p = ratio_inputs(values, prices, min_sales=1)
    if resamples < 1:
        raise RatioInputError(f"resamples must be at least 1, not {resamples}.")
    if not 0 < confidence < 1:
        raise RatioInputError(f"confidence must be between 0 and 1, not {confidence}.")
    if groups is None:
        labels, inverse = np.array([None], dtype=object), np.zeros(v.size, dtype=np.intp)
    else:
        group_array = np.asarray(groups)
        if group_array.shape != v.shape:
            raise RatioInputError(f"groups has {group_array.size} labels for {v.size} sales.")
        labels, inverse = factorize(group_array)
    order = np.argsort(inverse, kind="stable")  # by group
    bounds = np.searchsorted(inverse[order], np.arange(len(labels) + 1))
    groups_data = []
    units = []  # (group, first resample, last resample + 1, stream): the pieces the threads share
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    for g, stream in enumerate(root.spawn(len(labels))):
        members = order[bounds[g] : bounds[g + 1]]
        gv, gp = v[members], p[members]
        groups_data.append(
            ((gv / gp).astype(np.float32), (gv.astype(np.float32) + 1j * gp.astype(np.float32)).astype(np.complex64))
        )
        if members.size < MIN_SALES:
            continue
        block = max(1, min(resamples, BLOCK_ELEMENTS // members.size))
        starts = range(0, resamples, block)
        for start, block_stream in zip(starts, stream.spawn(len(starts)), strict=True):
            units.append((g, start, min(start + block, resamples), block_stream))
    samples = [np.empty((3, resamples)) for _ in labels]  # median, COD, PRD of each resample of each group

    def run(unit) -> None:
        g, start, stop, stream = unit
        samples[g][:, start:stop] = _resample(*groups_data[g], np.random.default_rng(stream), stop - start)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(run, units))
    tail = (1.0 - confidence) / 2
    results = {}
    for g, label in enumerate(labels):
        n = int(bounds[g + 1] - bounds[g])
        if n < MIN_SALES:
            results[_label(label)] = BootstrapCI(n=n, median=None, cod=None, prd=None)
            continue
        low, high = np.quantile(samples[g], [tail, 1.0 - tail], axis=1)
        median, dispersion, differential = (Interval(float(a), float(b)) for a, b in zip(low, high, strict=True))
        results[_label(label)] = BootstrapCI(n=n, median=median, cod=dispersion, prd=differential)
    return results


def factorize(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct labels in sorted order, each label's index among them): np.unique(return_inverse=True),
    without sorting every label (a sort of 200,000 text labels costs 0.2 s; a dict pass a tenth of it)."""
    if labels.dtype != object:
        return np.unique(labels, return_inverse=True)
    first: dict = {}
    codes = np.fromiter((first.setdefault(label, len(first)) for label in labels), dtype=np.intp, count=labels.size)
    keys = np.empty(len(first), dtype=object)
    keys[:] = list(first)
    order = np.argsort(keys, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return keys[order], rank[codes]


def _label(label):
    return label.item() if isinstance(label, np.generic) else label


def _resample(ratios: np.ndarray, pairs: np.ndarray, rng, rows: int) -> np.ndarray:
    """Median, COD and PRD of `rows` resamples of one group (float32 ratios; value + i price as complex64).

    Each resample's ratios are partitioned around the middle (O(n), no sort): the median is the middle
    element (or the mean of the middle two), and the sum of absolute deviations from it is the sum of the
    top half less the sum of the bottom half, whichever median lies between them.
    """
    n = ratios.size
    half = n // 2
    index = rng.integers(0, n, (rows, n), dtype=np.uint16 if n <= np.iinfo(np.uint16).max else np.uint32)
    resampled = ratios[index]
    # One kth only: partitioning around two (the middle pair of an even sample) costs four times as much; the
    # lower of the pair is the largest of the bottom half.
    resampled.partition(half, axis=1)
    upper_middle = resampled[:, half].astype(np.float64)
    median = upper_middle if n % 2 else 0.5 * (resampled[:, :half].max(axis=1) + upper_middle)
    # float32 sums (numpy sums pairwise): their error, about 1e-7 of the sum, is far below the COD's last digit.
    bottom = resampled[:, :half].sum(axis=1).astype(np.float64)
    top = resampled[:, n - half :].sum(axis=1).astype(np.float64)
    total = bottom + top + (upper_middle if n % 2 else 0.0)
    sums = pairs[index].sum(axis=1)
    return np.stack([median, 100.0 * (top - bottom) / (n * median), total / n * sums.imag / sums.real])


# -- outliers and sales chasing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrimResult:
    """Which sales an outlier rule keeps (`keep`, a boolean mask) and why each other one is trimmed."""

    keep: np.ndarray
    lower: float
    upper: float
    reasons: dict[int, str]  # index of a trimmed sale -> why
    capped: bool  # more sales were outside the fences than the cap allows: only the most extreme went

    @property
    def trimmed(self) -> int:
        return len(self.reasons)


def iqr_trim(values, prices, *, multiplier: float = 3.0, max_share: float | None = None) -> TrimResult:
    """IAAO outlier trimming (Standard on Ratio Studies, Appendix B): ratios outside Q1 - k x IQR and
    Q3 + k x IQR go. k = 3.0 trims extreme outliers only (the default); 1.5 is the usual milder fence, for
    which `max_share` caps the share of sales trimmed (the farthest outside the fences go first)."""
    v, p = ratio_inputs(values, prices)
    if multiplier <= 0:
        raise RatioInputError(f"The IQR multiplier must be above zero, not {multiplier}.")
    if max_share is not None and not 0 <= max_share < 1:
        raise RatioInputError(f"max_share must be from 0 to below 1, not {max_share}.")
    r = v / p
    q1, q3 = np.percentile(r, [25, 75])
    iqr = q3 - q1
    lower, upper = q1 - multiplier * iqr, q3 + multiplier * iqr
    outside = np.flatnonzero((r < lower) | (r > upper))
    capped = False
    if max_share is not None and outside.size > int(max_share * r.size):
        distance = np.maximum(lower - r[outside], r[outside] - upper)
        outside = outside[np.argsort(-distance, kind="stable")[: int(max_share * r.size)]]
        capped = True
    keep = np.ones(r.size, dtype=bool)
    keep[outside] = False
    reasons = {
        int(i): (
            f"ratio {r[i]:.3f} below the lower fence {lower:.3f} (Q1 - {multiplier:g} x IQR)"
            if r[i] < lower
            else f"ratio {r[i]:.3f} above the upper fence {upper:.3f} (Q3 + {multiplier:g} x IQR)"
        )
        for i in np.sort(outside)
    }
    return TrimResult(keep=keep, lower=float(lower), upper=float(upper), reasons=reasons, capped=capped)


@dataclass(frozen=True)
class ChasingTest:
    statistic: float  # observed share of sales (in the band, or in the densest window)
    expected: float  # the share a sample without chasing would show
    p_value: float
    flagged: bool
    detail: str


@dataclass(frozen=True)
class ChasingResult:
    """Sales chasing (IAAO Standard on Ratio Studies, Appendix E): flagged when either test is."""

    distribution: ChasingTest
    cdf_jump: ChasingTest

    @property
    def flagged(self) -> bool:
        return self.distribution.flagged or self.cdf_jump.flagged

    def as_dict(self) -> dict:
        return {**asdict(self), "flagged": self.flagged}


def sales_chasing(
    values, prices, *, target: float = 1.0, band: float = 0.02, window: float = 0.01, alpha: float = 0.001,
    min_excess: float = 1.5,
) -> ChasingResult:  # fmt: skip
    """The two tests of Appendix E for values chased toward sale prices (which piles ratios up near `target`).

    - Distribution test: the share of ratios within `target` -/+ `band`, against the share a normal
      distribution with the sample's robust centre and spread (median, IQR / 1.349) puts there.
    - Jump-in-CDF test: the largest rise of the empirical CDF over any `window` of ratios, against the rise
      the sales around it predict if their density were smooth there. "Around" is half a robust standard
      deviation wide (at least 3 windows), clipped to the sample's range, so that the density's own curve
      over it is small (a normal density varies by about 1% over it), and narrower windows are used for
      samples too uniform for `window`.

    A test flags when the observed share is at least `min_excess` times the expected one and a one-sided
    binomial test rejects "no excess" at `alpha` (Bonferroni-corrected over the windows the jump test tries).
    """
    v, p = ratio_inputs(values, prices)
    if v.size < VEI_MIN_SALES:
        raise RatioInputError(f"The sales-chasing tests need at least {VEI_MIN_SALES} sales, not {v.size}.")
    r = np.sort(v / p)
    n = r.size
    q1, median, q3 = np.percentile(r, [25, 50, 75])
    scale = max((q3 - q1) / 1.349, 1e-9)
    in_band = int(np.count_nonzero(np.abs(r - target) <= band))
    expected = float(special.ndtr((target + band - median) / scale) - special.ndtr((target - band - median) / scale))
    p_band = float(_at_least(in_band, n, max(expected, 1e-12)))
    observed = in_band / n
    distribution = ChasingTest(
        statistic=float(observed),
        expected=expected,
        p_value=p_band,
        flagged=bool(observed >= min_excess * expected and p_band < alpha),
        detail=f"{in_band} of {n} ratios within {target:g} -/+ {band:g}; a normal sample would have {expected * n:.0f}",
    )

    # For each sale's ratio x: how many ratios fall in [x, x + window), and how many in the span around
    # the window's centre; under a smooth density the first is a binomial draw from the second.
    span = max(0.5 * scale, 3 * window)
    window = min(window, span / 3)
    in_window = np.searchsorted(r, r + window, side="left") - np.arange(n)
    centre = r + window / 2
    low, high = np.maximum(centre - span / 2, r[0]), np.minimum(centre + span / 2, r[-1])
    around = np.searchsorted(r, high, side="right") - np.searchsorted(r, low, side="left")
    share = np.minimum(1.0, window / np.maximum(high - low, window))
    p_values = _at_least(in_window, around, share)
    best = int(np.argmin(p_values))
    tests = max(1, math.ceil((r[-1] - r[0]) / window))  # distinct windows the maximum was taken over
    p_jump = min(1.0, float(p_values[best]) * tests)
    jump, expected_jump = float(in_window[best] / n), float(around[best] * share[best] / n)
    cdf_jump = ChasingTest(
        statistic=jump,
        expected=expected_jump,
        p_value=p_jump,
        flagged=bool(jump >= min_excess * expected_jump and p_jump < alpha),
        detail=(
            f"the CDF rises {jump:.1%} between ratios {r[best]:.3f} and {r[best] + window:.3f}; "
            f"the sales around predict {expected_jump:.1%}"
        ),
    )
    return ChasingResult(distribution=distribution, cdf_jump=cdf_jump)


def _at_least(k, n, p):
    """P(X >= k) for X ~ Binomial(n, p), elementwise (1 where k <= 0)."""
    k, n = np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64)
    tail = special.bdtrc(np.maximum(k - 1, 0), n, p)
    return np.where(k <= 0, 1.0, np.where(k > n, 0.0, tail))


# -- standards ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standards:
    """The IAAO's performance standards (Standard on Ratio Studies, Table 9.1; VEI per the 2026 draft)."""

    median_range: tuple[float, float] = (0.90, 1.10)
    cod_max: float = 15.0  # by property type: `cod_limits`
    prd_range: tuple[float, float] = (0.98, 1.03)
    prb_limit: float = 0.05
    vei_limit: float = 10.0  # |VEI| in % beyond which a significant VEI fails
    min_sales: int = 5

    def for_group(self, group: str, cod_limits: Mapping[str, float]) -> "Standards":
        """These standards with the COD limit of a property group (`cod_limits[group]`, if it has one)."""
        return replace(self, cod_max=cod_limits.get(group, self.cod_max))


def standards_judge(statistics: RatioStatistics, standards: Standards) -> dict:
    """Pass/fail of each standard, None where the statistic could not be computed; `sample_too_small` flags
    a sample under the standards' minimum (its figures are shown, not relied on)."""
    low, high = standards.median_range
    prd_low, prd_high = standards.prd_range
    s = statistics
    return {
        "median": low <= s.median <= high,
        "cod": s.cod <= standards.cod_max,
        "prd": prd_low <= s.prd <= prd_high,
        "prb": None if s.prb is None else abs(s.prb.prb) <= standards.prb_limit,
        # The draft reads a VEI whose top and bottom intervals do not overlap as significant. With many
        # sales the intervals are narrow and even the small bias of the value proxy becomes significant,
        # so a VEI fails when it is significant and beyond the limit in size.
        "vei": None if s.vei is None else not (s.vei.is_significant and abs(s.vei.vei) > standards.vei_limit),
        "sample_too_small": s.n < standards.min_sales,
        "limits": {
            "median": [low, high],
            "cod_max": standards.cod_max,
            "prd": [prd_low, prd_high],
            "prb": [-standards.prb_limit, standards.prb_limit],
            "vei": [-standards.vei_limit, standards.vei_limit],
            "min_sales": standards.min_sales,
        },
    }


# -- a stratified study ------------------------------------------------------------------------------------------

STUDY_STATISTICS = ("median", "mean", "weighted_mean", "cod", "prd", "prb", "mki", "ki", "vei", "vei_significance")


def stratified_study(
    values, prices, strata, *, standards: Mapping | None = None, overall_standards: Standards | None = None,
    resamples: int = 1000, confidence: float = 0.95, seed: int | None = None, workers: int = 2,
    overall: bool = True,
) -> dict:  # fmt: skip
    """A ratio study of the whole sample (`overall`, unless False) and of each stratum (`strata`: a label per
    sale): every point statistic, bootstrap intervals of median, COD and PRD (`resamples` = 0: none), the
    PRB's interval, the VEI's groups, and pass/fail against `standards` (per stratum label; default IAAO's).

    A stratum under its standards' `min_sales` is listed with its count and `sample_too_small`, and no
    statistics (too few sales to say anything of it). `seed` (None: fresh entropy) is returned as `seed`, so
    any study can be run again with the same intervals; the strata and the whole sample draw from separate
    streams of it.
    """
    v, p = ratio_inputs(values, prices)
    labels = np.asarray(strata, dtype=object)
    if labels.shape != v.shape:
        raise RatioInputError(f"strata has {labels.size} labels for {v.size} sales.")
    standards = standards or {}
    default = overall_standards or Standards()
    root = np.random.SeedSequence(seed)
    strata_stream, overall_stream = root.spawn(2)
    options = {"resamples": resamples, "confidence": confidence, "workers": workers}
    keys, codes = factorize(labels)
    intervals = bootstrap_ci(v, p, codes, seed=strata_stream, **options) if resamples else {}
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    result = {
        "confidence": confidence,
        "resamples": resamples,
        "seed": root.entropy,
        "strata": [
            _study_entry(
                key,
                v[order[bounds[i] : bounds[i + 1]]],
                p[order[bounds[i] : bounds[i + 1]]],
                intervals.get(i),
                standards.get(key, default),
                confidence,
            )
            for i, key in enumerate(keys)
        ],
    }
    if overall:
        overall_ci = bootstrap_ci(v, p, None, seed=overall_stream, **options)[None] if resamples else None
        result["overall"] = _study_entry("overall", v, p, overall_ci, default, confidence)
    return result


def _study_entry(
    name, v: np.ndarray, p: np.ndarray, ci: BootstrapCI | None, standards: Standards, confidence: float
) -> dict:
    n = int(v.size)
    entry: dict = {"stratum": _label(name), "n": n, "sample_too_small": n < max(standards.min_sales, MIN_SALES)}
    if entry["sample_too_small"]:
        return {**entry, **dict.fromkeys(STUDY_STATISTICS), "ci": None, "vei_groups": [], "standards": None}
    s = ratio_statistics(v, p, confidence=confidence)

    def pair(interval: Interval | None) -> list[float] | None:
        return None if interval is None else [interval.low, interval.high]

    return {
        **entry,
        "median": s.median,
        "mean": s.mean,
        "weighted_mean": s.weighted_mean,
        "cod": s.cod,
        "prd": s.prd,
        "prb": None if s.prb is None else s.prb.prb,
        "mki": s.mki,
        "ki": s.ki,
        "vei": None if s.vei is None else s.vei.vei,
        "vei_significance": None if s.vei is None else s.vei.significance,
        "ci": {
            "median": pair(ci and ci.median),
            "cod": pair(ci and ci.cod),
            "prd": pair(ci and ci.prd),
            "prb": None if s.prb is None else pair(s.prb.ci),
            "median_rank": pair(s.median_ci),
        },
        "vei_groups": [] if s.vei is None else [asdict(group) for group in s.vei.groups],
        "standards": standards_judge(s, standards),
    }
