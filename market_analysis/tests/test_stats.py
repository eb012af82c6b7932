"""The ratio statistics: the IAAO's published figures, the properties every correct implementation has, the
bootstrap, trimming, sales chasing, the standards and bad input. Pure numpy: no database."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from market_analysis import stats
from market_analysis.stats import RatioInputError, Standards

IAAO = Path(__file__).resolve().parents[3] / "shared" / "data" / "iaao"  # ../shared beside the repository

# ../shared/data/iaao/README.md: file, n, median, COD, PRD, PRB, each to the precision published.
PUBLISHED = [
    ("iaao_table_1_1.csv", 36, 0.864, 29.8, 0.98, 0.232),
    ("iaao_table_1_4.csv", 17, 0.820, 14.5, 0.98, 0.135),
    ("iaao_table_d_1.csv", 25, 0.910, 7.5, 1.027, -0.120),
    ("iaao_table_d_2.csv", 16, 1.000, 7.8, 1.056, -0.011),
]


def iaao(name: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(IAAO / name, delimiter=",", skiprows=1)
    return data[:, 0], data[:, 1]


def decimals(published: float) -> int:
    text = repr(published)
    return len(text.split(".")[1]) if "." in text else 0


def sample(n: int = 2000, *, level: float = 0.94, sd: float = 0.13, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lognormal prices and values at `level` with lognormal error: an honest assessment."""
    rng = np.random.default_rng(seed)
    prices = np.exp(rng.normal(12.5, 0.4, n))
    return prices * level * np.exp(rng.normal(0, sd, n)), prices


@pytest.mark.parametrize(("name", "n", "median", "cod", "prd", "prb"), PUBLISHED)
def test_the_iaao_worked_examples_reproduce_their_published_figures(name, n, median, cod, prd, prb):
    result = stats.ratio_statistics(*iaao(name))
    assert result.n == n
    assert round(result.median, decimals(median)) == median
    assert round(result.cod, decimals(cod)) == cod
    assert round(result.prd, decimals(prd)) == prd
    assert round(result.prb.prb, decimals(prb)) == prb
    assert result.prb.ci.low < result.prb.prb < result.prb.ci.high


def test_the_vei_example_of_the_2026_draft():
    result = stats.vei(*iaao("iaao_vei_example.csv"))
    assert round(result.sample_median, 4) == 0.8678
    assert len(result.groups) == 4  # 51-500 sales: quartiles
    bottom, top = result.groups[0], result.groups[-1]
    assert (bottom.n, round(bottom.median, 4), round(bottom.ci.low, 4), round(bottom.ci.high, 4)) == (
        14, 0.7280, 0.6429, 0.8476,
    )  # fmt: skip
    assert (top.n, round(top.median, 4), round(top.ci.low, 4), round(top.ci.high, 4)) == (14, 1.1491, 1.0, 1.2476)
    assert round(result.vei, 2) == 48.53
    assert round(result.significance, 2) == 17.57
    assert result.is_significant
    assert sum(group.n for group in result.groups) == 54


@pytest.mark.parametrize(("n", "groups"), [(20, 2), (50, 2), (51, 4), (500, 4), (501, 10)])
def test_vei_groups_as_many_as_the_draft_says(n, groups):
    assert len(stats.vei(*sample(n)).groups) == groups


def test_a_regressive_assessment_has_a_negative_vei_and_a_significant_one_when_strong():
    values, prices = sample(3000, sd=0.05)
    regressive = values * (prices / np.median(prices)) ** -0.15  # dear homes under-assessed
    result = stats.vei(regressive, prices)
    assert result.vei < -10 and result.is_significant
    assert stats.standards_judge(stats.ratio_statistics(regressive, prices), Standards())["vei"] is False
    honest = stats.vei(values, prices)
    assert abs(honest.vei) < 3
    assert stats.standards_judge(stats.ratio_statistics(values, prices), Standards())["vei"] is True


def test_a_perfect_assessment_has_cod_zero_and_prd_one():
    prices = np.array([100_000.0, 250_000.0, 175_000.0, 420_000.0, 90_000.0])
    result = stats.ratio_statistics(prices, prices)
    assert (result.median, result.cod, result.prd, result.weighted_mean) == (1.0, 0.0, 1.0, 1.0)


def test_scaling_every_value_scales_the_level_and_leaves_uniformity_alone():
    values, prices = sample(500)
    before, after = stats.ratio_statistics(values, prices), stats.ratio_statistics(values * 1.1, prices)
    assert after.median == pytest.approx(before.median * 1.1)
    assert after.weighted_mean == pytest.approx(before.weighted_mean * 1.1)
    assert after.cod == pytest.approx(before.cod)
    assert after.prd == pytest.approx(before.prd)
    assert after.vei.vei == pytest.approx(before.vei.vei)


def test_a_regressive_assessment_has_prd_above_one_negative_prb_and_mki_below_one():
    values, prices = sample(2000, sd=0.05)
    regressive = values * (prices / np.median(prices)) ** -0.2
    result = stats.ratio_statistics(regressive, prices)
    assert result.prd > 1.03
    assert result.prb.prb < -0.05 and result.prb.ci.high < 0
    assert result.mki < 1 and result.ki < 0
    progressive = stats.ratio_statistics(values * (prices / np.median(prices)) ** 0.2, prices)
    assert progressive.prd < 0.98 and progressive.prb.prb > 0.05 and progressive.mki > 1


def test_mki_and_ki_of_a_proportional_assessment_are_one_and_zero():
    _, prices = sample(300)
    mki, ki = stats.gini_indices(prices * 0.9, prices)
    assert (mki, ki) == (pytest.approx(1.0), pytest.approx(0.0, abs=1e-12))


def test_the_single_statistics_agree_with_ratio_statistics():
    values, prices = iaao("iaao_table_1_1.csv")
    result = stats.ratio_statistics(values, prices)
    assert stats.median_ratio(values, prices) == result.median
    assert stats.mean_ratio(values, prices) == result.mean
    assert stats.weighted_mean_ratio(values, prices) == result.weighted_mean
    assert stats.cod(values, prices) == pytest.approx(result.cod)
    assert stats.prd(values, prices) == pytest.approx(result.prd)


# -- bootstrap --------------------------------------------------------------------------------------------------


def test_bootstrap_intervals_cover_the_estimates_and_shrink_with_more_sales():
    small, large = sample(200, seed=1), sample(5000, seed=1)
    ci_small = stats.bootstrap_ci(*small, resamples=500, seed=3)[None]
    ci_large = stats.bootstrap_ci(*large, resamples=500, seed=3)[None]
    point = stats.ratio_statistics(*large)
    assert ci_large.median.low < point.median < ci_large.median.high
    assert ci_large.cod.low < point.cod < ci_large.cod.high
    assert ci_large.prd.low < point.prd < ci_large.prd.high
    width = lambda interval: interval.high - interval.low  # noqa: E731
    for name in ("median", "cod", "prd"):
        assert width(getattr(ci_large, name)) < width(getattr(ci_small, name)) / 3  # ~ sqrt(25) = 5 times


def test_bootstrap_median_interval_matches_theory():
    """The bootstrap's median interval is close to the exact rank-based one (both estimate the same thing)."""
    values, prices = sample(4000, seed=2)
    boot = stats.bootstrap_ci(values, prices, resamples=1000, seed=1)[None].median
    exact = stats.ratio_statistics(values, prices).median_ci
    assert boot.low == pytest.approx(exact.low, abs=0.004) and boot.high == pytest.approx(exact.high, abs=0.004)


def test_bootstrap_is_seedable_and_the_same_with_any_number_of_threads():
    values, prices = sample(3000)
    groups = np.random.default_rng(0).integers(0, 7, values.size)
    one = stats.bootstrap_ci(values, prices, groups, resamples=200, seed=11, workers=1)
    two = stats.bootstrap_ci(values, prices, groups, resamples=200, seed=11, workers=2)
    other = stats.bootstrap_ci(values, prices, groups, resamples=200, seed=12, workers=2)
    assert one == two
    assert one != other
    assert sorted(one) == list(range(7)) and all(isinstance(key, int) for key in one)


def test_bootstrap_groups_are_resampled_within_themselves():
    values, prices = sample(2000)
    groups = np.where(np.arange(2000) < 1000, "low", "high")
    values = np.where(groups == "low", values * 0.8, values * 1.2)
    result = stats.bootstrap_ci(values, prices, groups, resamples=300, seed=1)
    assert result["low"].median.high < 0.8 < result["high"].median.low
    assert result["low"].n == result["high"].n == 1000


def test_bootstrap_of_a_group_too_small_gives_no_interval():
    result = stats.bootstrap_ci([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], ["a", "b", "b"], resamples=50, seed=1)
    assert result["a"] == stats.BootstrapCI(n=1, median=None, cod=None, prd=None)
    assert result["b"].median is not None


@pytest.mark.parametrize("n", [2, 3, 10, 11, 1000, 1001, 70_000, 70_001])
def test_each_resample_gets_exactly_the_median_cod_and_prd_of_its_sales(n):
    """The partition-based kernel against numpy's own statistics of the very same resampled sales (above
    65,535 sales the indexes are uint32)."""
    values, prices = sample(n, seed=n)
    ratios = (values / prices).astype(np.float32)
    pairs = (values.astype(np.float32) + 1j * prices.astype(np.float32)).astype(np.complex64)
    rows = 50 if n < 65536 else 3
    fast = stats._resample(ratios, pairs, np.random.default_rng(9), rows)
    index_type = np.uint16 if n < 65536 else np.uint32
    drawn = np.random.default_rng(9).integers(0, n, (rows, n), dtype=index_type)  # the same draws
    for row, index in enumerate(drawn):
        v, p = values[index].astype(np.float32), prices[index].astype(np.float32)
        r = ratios[index].astype(np.float64)
        median = np.median(r)
        expected = [median, 100 * np.mean(np.abs(r - median)) / median, r.mean() / (v.sum() / p.sum())]
        np.testing.assert_allclose(fast[:, row], expected, rtol=2e-5, atol=1e-6)


def test_a_group_above_65535_sales_is_resampled_too():
    """Large groups (a county's whole sample) draw uint32 indexes; their intervals are as narrow as theory says."""
    values, prices = sample(70_000, seed=4)
    result = stats.bootstrap_ci(values, prices, resamples=100, seed=1)[None]
    exact = stats.ratio_statistics(values, prices).median_ci
    assert result.median.low == pytest.approx(exact.low, abs=0.002)
    assert result.median.high == pytest.approx(exact.high, abs=0.002)
    assert result.cod.low < stats.cod(values, prices) < result.cod.high


# -- trimming -------------------------------------------------------------------------------------------------


def test_iqr_trimming_removes_the_extreme_ratios_with_a_reason_each():
    values, prices = sample(400, sd=0.1)
    values[[3, 10]] = prices[[3, 10]] * [4.0, 0.05]
    result = stats.iqr_trim(values, prices)  # k = 3.0
    assert sorted(result.reasons) == [3, 10]
    assert "above the upper fence" in result.reasons[3] and "3 x IQR" in result.reasons[3]
    assert "below the lower fence" in result.reasons[10]
    assert result.keep.sum() == 398 and not result.keep[3] and not result.capped


def test_the_milder_fence_trims_more_and_its_cap_keeps_the_share_down():
    values, prices = sample(1000, sd=0.25)
    mild = stats.iqr_trim(values, prices, multiplier=1.5)
    extreme = stats.iqr_trim(values, prices, multiplier=3.0)
    assert mild.trimmed > extreme.trimmed
    capped = stats.iqr_trim(values, prices, multiplier=1.5, max_share=0.002)
    assert capped.trimmed == 2 and capped.capped
    ratios = values / prices
    distance = np.maximum(mild.lower - ratios, ratios - mild.upper)
    assert set(capped.reasons) == set(np.argsort(-distance)[:2])  # the farthest outside go first


# -- sales chasing ----------------------------------------------------------------------------------------------


def test_sales_chasing_is_caught_on_a_chased_sample():
    values, prices = sample(2000, level=1.0)
    chased = values.copy()
    rng = np.random.default_rng(5)
    sold = rng.random(2000) < 0.15  # 15% of values moved to their sale price (within half a percent)
    chased[sold] = prices[sold] * rng.uniform(0.995, 1.005, sold.sum())
    result = stats.sales_chasing(chased, prices)
    assert result.flagged and result.distribution.flagged and result.cdf_jump.flagged
    assert result.cdf_jump.statistic > 0.1 and "between ratios 0.99" in result.cdf_jump.detail


@pytest.mark.parametrize("seed", range(5))
def test_sales_chasing_is_not_reported_on_honest_samples(seed):
    for level in (0.94, 1.0):
        for n, sd in ((3000, 0.13), (200, 0.13), (5000, 0.03), (20000, 0.02), (2000, 0.30)):
            result = stats.sales_chasing(*sample(n, level=level, sd=sd, seed=seed))
            assert result.flagged is False, (n, sd, result)
            json.dumps(result.as_dict())  # plain Python values, storable as JSON


def test_sales_chasing_is_not_reported_at_the_edges_of_a_uniform_sample():
    rng = np.random.default_rng(3)
    prices = np.exp(rng.normal(12.5, 0.4, 5000))
    assert stats.sales_chasing(prices * rng.uniform(0.5, 1.5, 5000), prices).flagged is False


# -- standards ----------------------------------------------------------------------------------------------------


def test_standards_pass_and_fail():
    good = stats.ratio_statistics(*sample(600, level=1.0, sd=0.08))
    verdict = stats.standards_judge(good, Standards())
    assert {k: verdict[k] for k in ("median", "cod", "prd", "prb", "vei", "sample_too_small")} == {
        "median": True, "cod": True, "prd": True, "prb": True, "vei": True, "sample_too_small": False,
    }  # fmt: skip
    values, prices = sample(600, level=0.8, sd=0.3)
    bad = stats.standards_judge(stats.ratio_statistics(values, prices), Standards())
    assert bad["median"] is False and bad["cod"] is False
    few = stats.standards_judge(stats.ratio_statistics([1.0, 2.0, 3.0], [1.0, 2.1, 2.9]), Standards())
    assert few["sample_too_small"] is True and few["vei"] is None


def test_cod_limits_depend_on_the_property_group():
    limits = {"11": 15.0, "91": 25.0}
    vacant = Standards().for_group("91", limits)
    assert vacant.cod_max == 25.0 and Standards().for_group("11", limits).cod_max == 15.0
    assert Standards().for_group("99", limits) == Standards()  # a group without a limit keeps the default
    result = stats.ratio_statistics(*sample(500, level=1.0, sd=0.25))
    assert 15 < result.cod < 25
    assert stats.standards_judge(result, vacant)["cod"] is True
    assert stats.standards_judge(result, Standards())["cod"] is False


def test_a_stratified_study_judges_each_stratum_by_its_own_standards_and_skips_small_ones():
    values, prices = sample(1200, level=1.0, sd=0.1, seed=2)
    strata = np.array(["A"] * 600 + ["B"] * 597 + ["C"] * 3, dtype=object)
    values[600:1197] *= 0.8  # B is under-assessed
    study = stats.stratified_study(
        values, prices, strata, standards={"A": Standards(cod_max=5.0)}, resamples=200, seed=4, confidence=0.9
    )
    a, b, c = study["strata"]
    assert [a["stratum"], b["stratum"], c["stratum"]] == ["A", "B", "C"] and (a["n"], b["n"], c["n"]) == (600, 597, 3)
    assert a["standards"]["cod"] is False and a["standards"]["limits"]["cod_max"] == 5.0  # A's own limit
    assert a["standards"]["median"] is True and b["standards"]["median"] is False  # B's level is 0.8
    assert c["sample_too_small"] is True and c["median"] is None and c["standards"] is None
    assert b["ci"]["median"][0] < 0.8 < b["ci"]["median"][1] or abs(b["median"] - 0.8) < 0.02
    overall = study["overall"]
    assert overall["n"] == 1200 and study["seed"] == 4 and study["confidence"] == 0.9
    # Every interval at the confidence asked for: the rank interval of the median is narrower at 90% than 95%.
    wider = stats.stratified_study(values, prices, strata, resamples=0, seed=4, confidence=0.95)["overall"]
    assert np.diff(overall["ci"]["median_rank"]) < np.diff(wider["ci"]["median_rank"])
    assert np.diff(overall["ci"]["prb"]) < np.diff(wider["ci"]["prb"])
    json.dumps(study)
    # The same seed, the same intervals; the whole sample draws apart from the first stratum.
    again = stats.stratified_study(
        values, prices, strata, standards={"A": Standards(cod_max=5.0)}, resamples=200, seed=4, confidence=0.9
    )
    assert again == study


# -- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "prices", "message"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], "differ in length (3 values, 2 prices)"),
        ([1.0], [1.0], "At least 2 sales are needed, not 1"),
        ([], [], "At least 2 sales are needed, not 0"),
        ([1.0, 0.0, 3.0], [1.0, 2.0, 3.0], "values must be above zero: 1 are not (first at index 1)"),
        ([1.0, 2.0, 3.0], [1.0, -2.0, 3.0], "prices must be above zero: 1 are not (first at index 1)"),
        ([1.0, math.nan, 3.0], [1.0, 2.0, 3.0], "values must be finite: 1 are NaN or infinite"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, math.inf], "prices must be finite: 1 are NaN or infinite (first at index 2)"),
    ],
)
def test_bad_input_raises_a_clear_error(values, prices, message):
    functions = [stats.ratio_statistics, stats.cod, stats.prd, stats.median_ratio, stats.iqr_trim, stats.gini_indices]
    if "At least" not in message:  # the bootstrap takes groups of any size (too small: no interval)
        functions.append(stats.bootstrap_ci)
    for function in functions:
        with pytest.raises(RatioInputError) as caught:
            function(values, prices)
        assert message in str(caught.value)


def test_statistics_that_need_more_sales_say_so():
    with pytest.raises(RatioInputError, match="VEI needs at least 20 sales, not 19"):
        stats.vei(*sample(19))
    with pytest.raises(RatioInputError, match="sales-chasing tests need at least 20 sales, not 19"):
        stats.sales_chasing(*sample(19))
    with pytest.raises(RatioInputError, match="At least 3 sales"):
        stats.prb([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(RatioInputError, match="groups has 2 labels for 3 sales"):
        stats.bootstrap_ci([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], ["a", "b"])
