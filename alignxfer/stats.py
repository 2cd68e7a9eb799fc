"""Statistics for comparing pre-training arms over fine-tuning seeds.

The unit of replication is the fine-tuning seed: an arm's score for one seed is one observation
(for an average over languages, the per-seed average is the observation). Arms are fine-tuned
with the same seed list, but seed *s* of arm A and seed *s* of arm B share nothing that makes
their scores correlated (different pre-trained weights, so different initial states and
trajectories), so the samples are treated as independent.

* Test: **Welch's two-sample t-test** (unequal variances), two-sided, on the per-seed scores.
  With n = 3 seeds per arm it has few degrees of freedom (at most 4) and little power; a
  non-significant difference is *absence of evidence*, not evidence of equality.
* Power: the **minimal detectable difference** (MDD): the true difference a two-sided
  two-sample t-test at level ``alpha`` detects with probability ``power``, given the pooled
  seed standard deviation and the numbers of seeds (computed exactly with the non-central t
  distribution). A difference of interest smaller than the MDD cannot be reliably detected
  with this many seeds.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import optimize
from scipy import stats as _st

ALPHA = 0.05
POWER = 0.8
TEST_NAME = "Welch's two-sample t-test (two-sided, unequal variances) on per-seed scores"


def _clean(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    return arr[~np.isnan(arr)]


def summarize(values: Sequence[float]) -> dict:
    """Mean, sample standard deviation (ddof = 1; NaN for one value) and count."""
    arr = _clean(values)
    n = len(arr)
    return {
        "mean": float(arr.mean()) if n else math.nan,
        "std": float(arr.std(ddof=1)) if n > 1 else math.nan,
        "n": n,
    }


def welch(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> dict:
    """Welch's t-test of mean(a) - mean(b).

    Returns ``diff``, ``t``, ``df``, ``p`` (two-sided), ``se``, the ``1 - alpha`` confidence
    interval ``ci_low``/``ci_high``, and the sample sizes. With fewer than two values on a side
    the test is undefined (``p`` NaN). When both samples have zero variance the difference is
    exact: ``p`` is 0 if the means differ and 1 if they are equal.
    """
    a, b = _clean(a), _clean(b)
    out = {"diff": math.nan, "t": math.nan, "df": math.nan, "p": math.nan, "se": math.nan,
           "ci_low": math.nan, "ci_high": math.nan, "n_a": len(a), "n_b": len(b)}
    if len(a) == 0 or len(b) == 0:
        return out
    diff = float(a.mean() - b.mean())
    out["diff"] = diff
    if len(a) < 2 or len(b) < 2:
        return out
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(math.sqrt(va + vb))
    out["se"] = se
    if se == 0:
        out.update(p=0.0 if diff != 0 else 1.0, t=math.copysign(math.inf, diff) if diff else 0.0,
                   df=float(len(a) + len(b) - 2), ci_low=diff, ci_high=diff)
        return out
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = diff / se
    half = _st.t.ppf(1 - alpha / 2, df) * se
    out.update(t=float(t), df=float(df), p=float(2 * _st.t.sf(abs(t), df)), ci_low=float(diff - half), ci_high=float(diff + half))
    return out


def pooled_sd(a: Sequence[float], b: Sequence[float]) -> float:
    """Pooled standard deviation of two samples (NaN if there are fewer than 3 values in all)."""
    a, b = _clean(a), _clean(b)
    dof = len(a) + len(b) - 2
    if dof < 1:
        return math.nan
    ss = (len(a) - 1) * (a.var(ddof=1) if len(a) > 1 else 0.0) + (len(b) - 1) * (b.var(ddof=1) if len(b) > 1 else 0.0)
    return math.sqrt(ss / dof)


def minimal_detectable_difference(sd: float, n_a: int, n_b: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true mean difference a two-sided two-sample t-test (level ``alpha``, pooled ``sd``,
    ``n_a`` and ``n_b`` seeds) detects with probability ``power`` (exact, non-central t)."""
    if sd is None or math.isnan(sd) or n_a < 1 or n_b < 1 or n_a + n_b - 2 < 1:
        return math.nan
    if sd == 0:
        return 0.0
    dof = n_a + n_b - 2
    crit = _st.t.ppf(1 - alpha / 2, dof)

    def shortfall(nc: float) -> float:
        reach = _st.nct.sf(crit, dof, nc) + _st.nct.cdf(-crit, dof, nc)
        return (1.0 if math.isnan(reach) else reach) - power

    high = 1.0
    while shortfall(high) < 0:  # the power grows with the non-centrality; bracket the root
        high *= 2
    nc = optimize.brentq(shortfall, 0.0, high)
    return float(nc * sd * math.sqrt(1.0 / n_a + 1.0 / n_b))


def compare(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA, power: float = POWER) -> dict:
    """Welch test of a vs b plus the minimal detectable difference for these sample sizes."""
    out = welch(a, b, alpha)
    out["pooled_sd"] = pooled_sd(a, b)
    out["mdd"] = minimal_detectable_difference(out["pooled_sd"], out["n_a"], out["n_b"], alpha, power)
    out["significant"] = bool(not math.isnan(out["p"]) and out["p"] < alpha)
    return out


def format_p(p: float | None, relation: bool = False) -> str:
    """A p-value for tables and text: "0.017", "< 0.001" (never a misleading "0.000"); with
    ``relation`` "= 0.017"; "n/a" when undefined."""
    if p is None or math.isnan(p):
        return "= n/a" if relation else "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"= {p:.3f}" if relation else f"{p:.3f}"


def significance_mark(p: float, alpha: float = ALPHA) -> str:
    """``**`` for p < alpha/5 (0.01 at the default), ``*`` for p < alpha, ``""`` otherwise or untestable."""
    if p is None or math.isnan(p):
        return ""
    if p < alpha / 5:
        return "**"
    if p < alpha:
        return "*"
    return ""
