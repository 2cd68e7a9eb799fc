"""Shared helpers of the benchmarks: the command header, per-process peak memory, a synthetic corpus.

Peak memory: every measured stage runs in its own child process, which reports its own peak
resident set size at its end: ``VmHWM`` of ``/proc/self/status`` (the high-water mark of the
address space it got at exec; KiB). Not ``os.wait4``/``RUSAGE_CHILDREN`` ``ru_maxrss``: on Linux that
also counts the parent's RSS at the time of the fork, so a child of a 1.5 GB parent "peaks" at
1.5 GB even when it runs ``pass``. The peak includes the interpreter and its imports, so each
benchmark also reports an import-only child as the floor.

The synthetic corpus (used only when no real ``corpus.txt`` is available): the bitext fixtures
(``tests/fixtures/bitext``) are far too small to be repeated into a benchmark corpus (a handful of
distinct sentences: a repeated corpus has a tiny vocabulary, a trivial lexical table for the
aligner and almost nothing left after the pre-training loader drops exact duplicates). So the
fixture sentences are kept (about 1% of the pairs) and their words become the most frequent
types; every other pair is generated: lengths log-normal (median 16 words, mean ~22, clipped to
1..150, like the default study's DDTP en-de units: 22.8 en / 24.0 de words), words drawn from a
Zipf-Mandelbrot law over 20k English-like pseudo-words, the other side a word-by-word
"translation" through a fixed random dictionary (some words become two, some function words
drop, some are inserted, local reordering), sentence-final punctuation. Deterministic given the
seed.
"""

from __future__ import annotations

import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "bitext"
PYTHON = sys.executable
#: a --target folder for benchmark-only packages (accelerate, for the Trainer baseline); git-ignored
DEPS = Path(__file__).resolve().parent / ".deps"
DEPS_USED = False
_ENV_AT_START = {k: os.environ[k] for k in ("PYTHONPATH", "OMP_NUM_THREADS") if k in os.environ}


def find_accelerate() -> bool:
    """Import accelerate, from benchmarks/.deps if the environment lacks it (children inherit the path)."""
    global DEPS_USED
    try:
        import accelerate  # noqa: F401

        return True
    except ImportError:
        pass
    if not DEPS.is_dir():
        return False
    sys.path.append(str(DEPS))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(DEPS)]))
    try:
        import accelerate  # noqa: F401,F811
    except ImportError:
        return False
    DEPS_USED = True
    return True


# --------------------------------------------------------------------------------------------
# reporting


def command_line() -> str:
    """The exact command that started this run (with PYTHONPATH / OMP_NUM_THREADS if set)."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in _ENV_AT_START.items())
    cmd = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    return f"cd {shlex.quote(os.getcwd())} && {env + ' ' if env else ''}{cmd}"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} CPUs"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def header(title: str) -> None:
    print(f"$ {command_line()}")
    print(f"# {title}")
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  host: {cpu_model()}, {os.cpu_count()} CPUs, python {platform.python_version()}"
    )
    print(f"# load average at start: {load_average()}")
    sys.stdout.flush()


def table(rows: list[list], headers: list[str]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for n, r in enumerate(cells):
        out.append("| " + " | ".join(c.rjust(w) if n else c.ljust(w) for c, w in zip(r, widths)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


# --------------------------------------------------------------------------------------------
# child processes


def run_child(args: list[str], env_extra: dict | None = None, log_path=None) -> dict:
    """Run ``python args...`` and reap it with wait4: wall seconds and its CPU seconds (user + sys).

    The child's stdout goes to ``log_path`` (or nowhere), its stderr to ours.
    """
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (env_extra or {}).items()})
    stdout = open(log_path, "w") if log_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen([PYTHON, *args], env=env, stdout=stdout)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log_path:
            stdout.close()
    if proc.returncode != 0:
        tail = Path(log_path).read_text()[-3000:] if log_path else ""
        sys.exit(f"child failed (exit {proc.returncode}): {shlex.join([PYTHON, *args])}\n{tail}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def peak_rss_kib() -> int:
    """This process's peak RSS since exec (VmHWM), KiB; ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --------------------------------------------------------------------------------------------
# synthetic corpus

_EN = (
    [
        "",
        "b",
        "c",
        "d",
        "f",
        "g",
        "h",
        "l",
        "m",
        "n",
        "p",
        "r",
        "s",
        "t",
        "v",
        "w",
        "st",
        "tr",
        "pl",
        "pr",
        "ch",
        "th",
        "gr",
        "sp",
    ],
    ["a", "e", "i", "o", "u", "ea", "ou", "io", "ai", "y"],
    ["", "", "", "", "n", "r", "s", "t", "l", "nd", "st", "ng"],
)
_XX = (
    [
        "",
        "b",
        "d",
        "f",
        "g",
        "h",
        "k",
        "l",
        "m",
        "n",
        "p",
        "r",
        "s",
        "t",
        "w",
        "z",
        "sch",
        "st",
        "pf",
        "kr",
        "spr",
        "gl",
    ],
    ["a", "e", "i", "o", "u", "ä", "ö", "ü", "ei", "au", "ie", "eu"],
    ["", "", "", "", "n", "r", "s", "t", "ch", "ng", "en", "er", "lich"],
)
_PUNCT = [".", ",", ":", "(", ")", "-", "/"]


def _fixture_pairs() -> list[tuple[list[str], list[str]]]:
    from alignxfer.words import segment

    pairs = []
    en_path, de_path = FIXTURES / "train.en", FIXTURES / "train.de"
    if en_path.exists() and de_path.exists():
        for a, b in zip(en_path.read_text().splitlines(), de_path.read_text().splitlines()):
            if a.strip() and b.strip():
                pairs.append((segment(a), segment(b)))
    for tsv in sorted(FIXTURES.glob("*.tsv")):
        for line in tsv.read_text(encoding="utf-8", errors="replace").splitlines():
            cols = line.split("\t")
            if len(cols) == 2 and cols[0].strip() and cols[1].strip() and "\ufffd" not in line:
                pairs.append((segment(cols[0]), segment(cols[1])))
    return pairs


def _pseudo_words(rng, parts, n: int, reserved: set, rank_offset: int) -> list[str]:
    onsets, vowels, codas = parts
    out, seen = [], set(reserved)
    while len(out) < n:
        rank = rank_offset + len(out)
        syllables = 1 + min(2, int(rng.random() < 0.4) + int(np.log10(rank + 10) / 2.2))  # rarer -> longer
        word = "".join(
            onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))] + codas[rng.integers(len(codas))]
            for _ in range(syllables)
        )
        if rng.random() < 0.03 * min(rank, 3000) / 3000:  # a few capitalised names
            word = word.capitalize()
        if word and word not in seen:
            seen.add(word)
            out.append(word)
    return out


def synthetic_pairs(n_pairs: int, seed: int = 13, vocab: int = 20000) -> tuple[list[tuple[list[str], list[str]]], dict]:
    """``n_pairs`` (English words, other words) pairs; see the module docstring."""
    rng = np.random.default_rng([seed, 0xB17E])
    fixtures = _fixture_pairs()
    fixture_en = list(dict.fromkeys(w.lower() for p in fixtures for w in p[0] if w.isalpha()))
    fixture_xx = list(dict.fromkeys(w.lower() for p in fixtures for w in p[1] if w.isalpha()))
    en_words = fixture_en + _pseudo_words(rng, _EN, vocab - len(fixture_en), set(fixture_en), len(fixture_en))
    xx_pool = fixture_xx + _pseudo_words(rng, _XX, int(vocab * 1.1) - len(fixture_xx), set(fixture_xx), len(fixture_xx))
    # the dictionary: English rank r -> one or two xx words (frequent words map to frequent words)
    noise = rng.normal(0, 0.15, vocab)
    order = np.argsort(np.log1p(np.arange(vocab)) + noise)
    translation = []
    extra = iter(range(vocab, len(xx_pool)))
    for r in range(vocab):
        first = xx_pool[int(order[r])]
        if r > 100 and rng.random() < 0.08:  # compounds and multi-word translations
            translation.append([first, xx_pool[next(extra, int(order[r]))]])
        else:
            translation.append([first])
    ranks = np.arange(1, vocab + 1, dtype=np.float64)
    probs = 1.0 / (ranks + 2.7) ** 1.02
    cdf = np.cumsum(probs / probs.sum())
    function_xx = xx_pool[:40]

    n_fixture = min(len(fixtures) and max(1, n_pairs // 100), n_pairs)
    pairs = [fixtures[k % len(fixtures)] for k in range(n_fixture)] if fixtures else []
    lengths = np.clip(np.round(rng.lognormal(np.log(16.0), 0.8, n_pairs - len(pairs))), 1, 150).astype(int)
    for length in lengths:
        ids = np.minimum(np.searchsorted(cdf, rng.random(int(length))), vocab - 1)
        en = [en_words[i] for i in ids]
        xx = []
        for i in ids:
            if i < 30 and rng.random() < 0.25:  # function words sometimes have no counterpart
                continue
            xx.extend(translation[i])
            if rng.random() < 0.06:
                xx.append(function_xx[rng.integers(len(function_xx))])
        if len(xx) > 3 and rng.random() < 0.5:  # local reordering: move a chunk (a verb to the end, ...)
            a = int(rng.integers(0, len(xx) - 2))
            b = int(rng.integers(a + 1, min(len(xx), a + 4)))
            chunk = xx[a:b]
            del xx[a:b]
            xx.extend(chunk)
        if not xx:
            xx = [translation[ids[0]][0]]
        if length > 6 and rng.random() < 0.4:  # a comma or a parenthesis inside
            at = int(rng.integers(2, length - 2))
            p = _PUNCT[1 + rng.integers(len(_PUNCT) - 1)]
            en.insert(at, p)
            xx.insert(min(at, len(xx)), p)
        if rng.random() < 0.7:
            en.append(".")
            xx.append(".")
        if en[0].isalpha():
            en[0] = en[0].capitalize()
        if xx[0].isalpha():
            xx[0] = xx[0].capitalize()
        pairs.append((en, xx))
    order = rng.permutation(len(pairs))
    pairs = [pairs[k] for k in order]
    stats = {
        "pairs": len(pairs),
        "fixture_pairs": n_fixture,
        "mean_en_words": float(np.mean([len(p[0]) for p in pairs])),
        "mean_xx_words": float(np.mean([len(p[1]) for p in pairs])),
        "en_types": len({w for p in pairs for w in p[0]}),
        "xx_types": len({w for p in pairs for w in p[1]}),
    }
    return pairs, stats


def write_synthetic_corpus(path, n_pairs: int, seed: int = 13) -> dict:
    """Write an aligner input file (``en words ||| xx words``) of synthetic pairs; returns stats."""
    from alignxfer.alignment import format_pair

    pairs, stats = synthetic_pairs(n_pairs, seed)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for en, xx in pairs:
            handle.write(format_pair(en, xx) + "\n")
    return stats


def describe_synthetic(stats: dict) -> str:
    return (
        f"SYNTHETIC corpus (no real corpus.txt found): {stats['pairs']} pairs, of which {stats['fixture_pairs']} "
        f"are tests/fixtures/bitext sentences, the rest generated (Zipf pseudo-words, fixture words most frequent; "
        f"see benchmarks/_common.py); mean {stats['mean_en_words']:.1f} en / {stats['mean_xx_words']:.1f} xx words "
        f"a pair; {stats['en_types']} en / {stats['xx_types']} xx word types"
    )
