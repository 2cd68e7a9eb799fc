"""alignxfer.stats against hand computations and scipy on fixed vectors."""

import math

import numpy as np
import pytest
from scipy import stats as st

from alignxfer import stats as S

A = [1.0, 2.0, 3.5]
B = [4.0, 6.0, 9.0, 8.0]


# --------------------------------------------------------------------------- summarize


def test_summarize_uses_sample_std_and_says_so():
    assert "ddof = 1" in S.summarize.__doc__
    s = S.summarize([1.0, 2.0, 3.0])
    # mean 2; squared deviations 1 + 0 + 1 = 2; / (n - 1) = 1 -> std 1 (ddof = 0 would give 0.816)
    assert s == {"mean": 2.0, "std": 1.0, "n": 3}
    assert S.summarize([70.0, 72.0, 71.0, 75.0])["std"] == pytest.approx(np.std([70, 72, 71, 75], ddof=1))


def test_summarize_edge_cases():
    one = S.summarize([5.0])
    assert one["mean"] == 5.0 and math.isnan(one["std"]) and one["n"] == 1
    empty = S.summarize([])
    assert math.isnan(empty["mean"]) and math.isnan(empty["std"]) and empty["n"] == 0
    # NaN and None are missing values, not observations
    s = S.summarize([1.0, math.nan, 3.0, None])
    assert s["n"] == 2 and s["mean"] == 2.0 and s["std"] == pytest.approx(math.sqrt(2))
    assert S.summarize([4.0, 4.0, 4.0])["std"] == 0.0


# --------------------------------------------------------------------------- Welch


def test_welch_matches_scipy():
    w = S.welch(A, B)
    ref = st.ttest_ind(A, B, equal_var=False)
    assert w["diff"] == pytest.approx(np.mean(A) - np.mean(B))  # 13/6 - 27/4 = -4.5833
    assert w["t"] == pytest.approx(ref.statistic)
    assert w["p"] == pytest.approx(ref.pvalue)
    assert w["df"] == pytest.approx(ref.df)
    assert (w["n_a"], w["n_b"]) == (3, 4)
    # se = sqrt(s_a²/n_a + s_b²/n_b)
    assert w["se"] == pytest.approx(math.sqrt(np.var(A, ddof=1) / 3 + np.var(B, ddof=1) / 4))
    ci = ref.confidence_interval(0.95)
    assert (w["ci_low"], w["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    # symmetric in the order of the samples
    back = S.welch(B, A)
    assert back["diff"] == pytest.approx(-w["diff"]) and back["p"] == pytest.approx(w["p"])


def test_welch_alpha_sets_confidence_level():
    w = S.welch(A, B, alpha=0.1)
    ci = st.ttest_ind(A, B, equal_var=False).confidence_interval(0.9)
    assert (w["ci_low"], w["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_welch_hand_computed_df():
    # a: mean 2, s² 1; b: mean 5, s² 4; n 3 each -> va = 1/3, vb = 4/3, se = sqrt(5/3)
    # df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = (25/9) / (17/18) = 50/17
    w = S.welch([1, 2, 3], [3, 5, 7])
    assert w["diff"] == pytest.approx(-3.0)
    assert w["se"] == pytest.approx(math.sqrt(5 / 3))
    assert w["t"] == pytest.approx(-3.0 / math.sqrt(5 / 3))
    assert w["df"] == pytest.approx(50 / 17)
    assert w["p"] == pytest.approx(2 * st.t.sf(3.0 / math.sqrt(5 / 3), 50 / 17))


def test_welch_ignores_nans():
    assert S.welch(A + [math.nan], [None] + B) == pytest.approx(S.welch(A, B))


def test_welch_one_seed_is_untestable():
    w = S.welch([70.0], [60.0, 61.0])
    assert w["diff"] == pytest.approx(9.5)
    assert all(math.isnan(w[k]) for k in ("t", "df", "p", "se", "ci_low", "ci_high"))
    empty = S.welch([], [1.0, 2.0])
    assert math.isnan(empty["diff"]) and math.isnan(empty["p"]) and empty["n_a"] == 0


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, on the constant sample
def test_welch_zero_variance():
    same = S.welch([70.0] * 3, [70.0] * 3)
    assert same["diff"] == 0.0 and same["p"] == 1.0 and same["t"] == 0.0
    apart = S.welch([71.0] * 3, [70.0] * 3)
    assert apart["diff"] == 1.0 and apart["p"] == 0.0 and apart["t"] == math.inf
    assert (apart["ci_low"], apart["ci_high"]) == (1.0, 1.0)
    assert S.welch([70.0] * 3, [71.0] * 3)["t"] == -math.inf
    # one side constant: Welch still defined (df = n_b - 1), as in scipy
    w = S.welch([70.0, 70.0, 70.0], [60.0, 62.0, 61.0])
    ref = st.ttest_ind([70.0, 70.0, 70.0], [60.0, 62.0, 61.0], equal_var=False)
    assert w["p"] == pytest.approx(ref.pvalue) and w["df"] == pytest.approx(2.0)


# --------------------------------------------------------------------------- pooled SD and MDD


def test_pooled_sd():
    # s²: A = 1.5833 (13/6 mean; deviations -7/6, -1/6, 4/3 -> (49+1+64)/36 / 2 = 114/72),
    #     B = 14/3 (mean 6.75; 7.5625 + 0.5625 + 5.0625 + 1.5625 = 14.75 / 3 = 4.9167)
    ss = 2 * (114 / 72) + 3 * (14.75 / 3)
    assert S.pooled_sd(A, B) == pytest.approx(math.sqrt(ss / 5))
    assert S.pooled_sd([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert S.pooled_sd([5.0], [1.0, 3.0]) == pytest.approx(math.sqrt(2.0))  # the single value adds no variance
    assert math.isnan(S.pooled_sd([1.0], [2.0]))
    assert math.isnan(S.pooled_sd([], [1.0, 2.0]))  # 2 values in all: 0 degrees of freedom
    assert S.pooled_sd([1.0, math.nan, 3.0], [1.0, 3.0]) == pytest.approx(math.sqrt(2.0))


def _power(delta: float, sd: float, n_a: int, n_b: int, alpha: float = 0.05) -> float:
    """Power of the two-sided pooled two-sample t-test, from the non-central t (written out here)."""
    dof = n_a + n_b - 2
    nc = delta / (sd * math.sqrt(1 / n_a + 1 / n_b))
    crit = st.t.ppf(1 - alpha / 2, dof)
    return st.nct.sf(crit, dof, nc) + st.nct.cdf(-crit, dof, nc)


def test_mdd_docstring_states_the_method():
    doc = S.minimal_detectable_difference.__doc__ + S.__doc__
    assert "non-central t" in doc


@pytest.mark.parametrize("sd, n_a, n_b", [(1.0, 3, 3), (2.5, 3, 3), (1.0, 5, 5), (0.7, 3, 5), (1.0, 2, 2)])
def test_mdd_has_the_stated_power(sd, n_a, n_b):
    mdd = S.minimal_detectable_difference(sd, n_a, n_b)
    assert _power(mdd, sd, n_a, n_b) == pytest.approx(0.8, abs=1e-6)
    # it scales with the SD
    assert mdd == pytest.approx(sd * S.minimal_detectable_difference(1.0, n_a, n_b))


def test_mdd_published_and_asymptotic_values():
    # Cohen (1988), Table 2.4.1: d = 0.8 needs n = 26 per group (alpha .05 two-sided, power .8)
    assert S.minimal_detectable_difference(1.0, 26, 26) <= 0.8 < S.minimal_detectable_difference(1.0, 25, 25)
    # 3 seeds per arm: about 3.07 pooled SDs (the number quoted by the results tables' power note)
    assert S.minimal_detectable_difference(1.0, 3, 3) == pytest.approx(3.07, abs=0.01)
    # large n: the normal approximation (z_{1-a/2} + z_power) * sd * sqrt(2/n)
    n = 2000
    normal = (st.norm.ppf(0.975) + st.norm.ppf(0.8)) * math.sqrt(2 / n)
    assert S.minimal_detectable_difference(1.0, n, n) == pytest.approx(normal, rel=2e-3)
    # the t version is always above the normal approximation (heavier tails)
    assert S.minimal_detectable_difference(1.0, 3, 3) > (st.norm.ppf(0.975) + st.norm.ppf(0.8)) * math.sqrt(2 / 3)


def test_mdd_by_simulation():
    # 3 vs 3 seeds, sd 1: a pooled t-test on normal samples that differ by the MDD rejects ~80% of the time
    mdd = S.minimal_detectable_difference(1.0, 3, 3)
    rng = np.random.default_rng(0)
    reps = 40000
    a = rng.normal(mdd, 1.0, size=(reps, 3))
    b = rng.normal(0.0, 1.0, size=(reps, 3))
    p = st.ttest_ind(a, b, axis=1).pvalue
    assert np.mean(p < 0.05) == pytest.approx(0.8, abs=0.012)


def test_mdd_edge_cases():
    assert S.minimal_detectable_difference(0.0, 3, 3) == 0.0
    assert math.isnan(S.minimal_detectable_difference(math.nan, 3, 3))
    assert math.isnan(S.minimal_detectable_difference(None, 3, 3))
    assert math.isnan(S.minimal_detectable_difference(1.0, 1, 1))  # no degrees of freedom
    assert math.isnan(S.minimal_detectable_difference(1.0, 0, 3))
    assert S.minimal_detectable_difference(1.0, 1, 2) > S.minimal_detectable_difference(1.0, 2, 2)


# --------------------------------------------------------------------------- compare and marks


def test_compare_combines_welch_pooled_sd_and_mdd():
    c = S.compare(A, B)
    w = S.welch(A, B)
    for key in ("diff", "t", "df", "p", "ci_low", "ci_high"):
        assert c[key] == pytest.approx(w[key])
    assert c["pooled_sd"] == pytest.approx(S.pooled_sd(A, B))
    assert c["mdd"] == pytest.approx(S.minimal_detectable_difference(S.pooled_sd(A, B), 3, 4))
    assert c["significant"] is True  # p = 0.019
    assert S.compare([1, 2, 3], [1.5, 2.5, 3.5])["significant"] is False
    untestable = S.compare([70.0], [60.0, 61.0])
    assert untestable["significant"] is False and math.isnan(untestable["p"])


@pytest.mark.parametrize(
    "p, mark",
    [(0.0, "**"), (0.0099, "**"), (0.01, "*"), (0.0499, "*"), (0.05, ""), (0.5, ""), (math.nan, ""), (None, "")],
)
def test_significance_mark(p, mark):
    assert S.significance_mark(p) == mark


def test_significance_mark_other_alpha():
    assert S.significance_mark(0.015, alpha=0.1) == "**"  # alpha/5 = 0.02
    assert S.significance_mark(0.07, alpha=0.1) == "*"
    assert S.significance_mark(0.03, alpha=0.01) == ""


def test_format_p_never_prints_a_misleading_zero():
    from alignxfer.stats import format_p

    assert format_p(0.0001) == "< 0.001" and format_p(0.0001, relation=True) == "< 0.001"
    assert format_p(0.0172) == "0.017" and format_p(0.0172, relation=True) == "= 0.017"
    assert format_p(float("nan")) == "n/a" and format_p(None, relation=True) == "= n/a"
