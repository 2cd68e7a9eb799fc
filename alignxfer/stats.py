"""Statistics for comparing pre-training arms: the paired hierarchical bootstrap of the tables and
claims, Holm's correction, equivalence (TOST), and the older Welch/MDD helpers.

**The model of every comparison** (:class:`Bootstrap`): a *paired, hierarchical (crossed)
bootstrap*. One replicate draws, with replacement, (1) the pre-training seeds (when metric files
carry ``pretrain_seed``; otherwise there is one pre-training run and this level is fixed), (2) the
fine-tuning seeds within each drawn pre-training seed, and (3) the test documents of each
language (only where per-example predictions exist and the metric is a mean over examples, e.g.
accuracy = mean of ``correct``; otherwise a language's score is the metric file's value and
test-set noise is not resampled, which the tables say). The draws are shared by every arm,
setting and table of one gather (weights keyed by the seed grid's shape and the language's
document count, from one fixed RNG seed), so arm A and arm B are resampled with the *same* seeds
(paired by seed value) and the *same* documents (paired by document id): the bootstrap
distribution of A − B keeps the correlation that seed s (same head initialisation and batch
order) and document d induce. An arm's replicate score in a language is the weighted mean over the
drawn (seed, document) cells; the average over languages is the mean of the per-language
replicate scores (languages are fixed, not resampled).

* 95% CI: percentile interval of the replicate differences; the p-value is the two-sided
  percentile p = 2·min(P*(Δ ≤ 0), P*(Δ ≥ 0)) (with the +1 correction), so p < α exactly when 0 is
  outside the (1 − α) interval.
* Equivalence (TOST at level α): equivalent within ±m when the (1 − 2α) percentile interval lies
  inside (−m, m).
* Minimal detectable effect (MDE): (z₁₋α/₂ + z_power) × the bootstrap SE of the difference (normal
  approximation): the true difference this design detects with probability ``power``.
* With few seeds the seed level has few distinct resamples and the bootstrap variance of a mean
  of n seeds is (n − 1)/n of the textbook estimate: intervals are, if anything, narrow; a
  non-significant difference is absence of evidence (see the MDE), not evidence of equality.

The older helpers below (Welch's t-test, the t-test MDD) are kept for reference and tests:

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
from collections.abc import Sequence

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
    out = {
        "diff": math.nan,
        "t": math.nan,
        "df": math.nan,
        "p": math.nan,
        "se": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "n_a": len(a),
        "n_b": len(b),
    }
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
        out.update(
            p=0.0 if diff != 0 else 1.0,
            t=math.copysign(math.inf, diff) if diff else 0.0,
            df=float(len(a) + len(b) - 2),
            ci_low=diff,
            ci_high=diff,
        )
        return out
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = diff / se
    half = _st.t.ppf(1 - alpha / 2, df) * se
    out.update(
        t=float(t),
        df=float(df),
        p=float(2 * _st.t.sf(abs(t), df)),
        ci_low=float(diff - half),
        ci_high=float(diff + half),
    )
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


# --------------------------------------------------------------------------- bootstrap

BOOT_SAMPLES = 2000
BOOT_SEED = 20211
BOOT_TEST_NAME = (
    "paired hierarchical bootstrap (pre-training seeds, fine-tuning seeds within them, test documents "
    "within language; paired by seed and document id across arms), percentile 95% CI and two-sided p"
)
HOLM_NAME = "Holm's step-down correction across the arms of the table (per column and reference)"


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone, capped at 1); NaN stays NaN and is not counted."""
    p = np.asarray([math.nan if v is None else float(v) for v in pvalues], dtype=float)
    out = np.full(len(p), math.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = len(idx)
    if m == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


class Bootstrap:
    """Shared resampling weights: seed-grid weights keyed by (P, S), document weights keyed by
    (language, number of documents), all from one RNG seed (deterministic, and identical for every
    arm, setting and table that share a grid or a test set: that is what pairs them)."""

    def __init__(self, n_boot: int = BOOT_SAMPLES, seed: int = BOOT_SEED):
        if int(n_boot) < 100:
            raise ValueError(f"stats.bootstrap_samples must be at least 100, got {n_boot}")
        self.n_boot = int(n_boot)
        self.seed = int(seed)
        self._seed_w: dict = {}
        self._doc_w: dict = {}

    def seed_weights(self, n_pretrain: int, n_finetune: int) -> np.ndarray:
        """(B, P·S) weights, rows summing to 1: P pre-training seeds drawn with replacement, then S
        fine-tuning seeds drawn with replacement within each drawn pre-training seed."""
        key = (n_pretrain, n_finetune)
        if key not in self._seed_w:
            B, P, S = self.n_boot, n_pretrain, n_finetune
            rng = np.random.default_rng([self.seed, 1, P, S])
            p_idx = rng.integers(0, P, size=(B, P)) if P > 1 else np.zeros((B, P), dtype=np.int64)
            s_idx = rng.integers(0, S, size=(B, P, S))
            flat = (np.arange(B)[:, None, None] * (P * S) + p_idx[:, :, None] * S + s_idx).ravel()
            counts = np.bincount(flat, minlength=B * P * S).reshape(B, P * S)
            self._seed_w[key] = counts / float(P * S)
        return self._seed_w[key]

    def doc_weights(self, lang: str, n_docs: int) -> np.ndarray:
        """(B, D) weights, rows summing to 1: the language's D test documents drawn with replacement
        (D = 1: no document level, weight 1)."""
        key = (lang, n_docs)
        if key not in self._doc_w:
            B, D = self.n_boot, n_docs
            if D == 1:
                self._doc_w[key] = np.ones((B, 1))
            else:
                rng = np.random.default_rng([self.seed, 2, zlib_crc(lang), D])
                idx = rng.integers(0, D, size=(B, D))
                flat = (np.arange(B)[:, None] * D + idx).ravel()
                self._doc_w[key] = np.bincount(flat, minlength=B * D).reshape(B, D) / float(D)
        return self._doc_w[key]

    def replicates(self, cube: np.ndarray, lang: str) -> np.ndarray:
        """Replicate scores (B,) of one arm in one language from ``cube`` (P, S, D): the values of
        each (pre-training seed, fine-tuning seed, document) cell (D = 1: the run's metric value)."""
        P, S, D = cube.shape
        ws = self.seed_weights(P, S)
        wd = self.doc_weights(lang, D)
        per_run = wd @ cube.reshape(P * S, D).T  # (B, P·S): each run's resampled test score
        return np.einsum("bk,bk->b", ws, per_run)


def zlib_crc(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of the replicates at confidence ``level``."""
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return float(low), float(high)


def summarize_difference(point: float, reps: np.ndarray, alpha: float = ALPHA, power: float = POWER) -> dict:
    """``diff`` (the point estimate), ``ci_low``/``ci_high`` ((1 − α) percentile CI),
    ``ci90_low``/``ci90_high`` ((1 − 2α), for TOST), ``p`` (two-sided percentile p), ``se`` and
    ``mde`` of a difference with bootstrap replicates ``reps``."""
    reps = np.asarray(reps, dtype=float)
    B = len(reps)
    low, high = interval(reps, 1 - alpha)
    low90, high90 = interval(reps, 1 - 2 * alpha)
    below = int(np.count_nonzero(reps <= 0))
    above = int(np.count_nonzero(reps >= 0))
    p = min(1.0, 2.0 * (min(below, above) + 1) / (B + 1))
    se = float(reps.std(ddof=1))
    mde = float(_st.norm.ppf(1 - alpha / 2) + _st.norm.ppf(power)) * se
    return {
        "diff": float(point),
        "ci_low": low,
        "ci_high": high,
        "ci90_low": low90,
        "ci90_high": high90,
        "p": p,
        "se": se,
        "mde": mde,
        "significant": bool(p < alpha),
    }


def equivalent(cmp: dict, margin: float) -> bool:
    """TOST: the (1 − 2α) interval of the difference lies inside (−margin, +margin)."""
    return bool(-margin < cmp["ci90_low"] and cmp["ci90_high"] < margin)


def format_ci(cmp: dict, digits: int = 2) -> str:
    if cmp is None or math.isnan(cmp.get("ci_low", math.nan)):
        return "n/a"
    return f"[{cmp['ci_low']:+.{digits}f}, {cmp['ci_high']:+.{digits}f}]"
