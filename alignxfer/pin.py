"""``python -m alignxfer.pin CONFIG [CONFIG...]``: pin every hub source of a config to its current commit.

A revision such as ``main`` or ``refs/convert/parquet`` is a branch: the hub can move it (MLQA's
parquet export is regenerated when the dataset changes), and a study read twice would then differ.
This helper asks the hub (``HfApi.repo_info``) for the commit each source's revision points at now
and prints a config overlay with those commits::

    python -m alignxfer.pin configs/paper.yaml --output configs/paper.revisions.yaml
    snakemake ... --configfile configs/paper.yaml configs/paper.revisions.yaml

Planning warns about every hub source without a pinned commit (``alignxfer.config.unpinned_revisions``).
Needs the hub (run it where there is internet); it downloads no data.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from alignxfer.config import merge_config
from alignxfer.io import emit_overlay


def revision_overlay(cfg: dict, resolve=None, log=print) -> dict:
    """The overlay ``{base: {revision}, tasks: {<task>: {<part>: {revision}}}}`` of a validated config.

    ``resolve(repo type, repo id, revision) -> commit`` (default: the hub)."""
    from alignxfer.config import hub_sources

    if resolve is None:
        from huggingface_hub import HfApi

        api = HfApi()

        def resolve(kind, repo, revision):
            return api.repo_info(repo, repo_type=kind, revision=revision or "main").sha

    overlay: dict = {}
    repos_per_key: dict = {}
    for key, kind, repo, revision in hub_sources(cfg):
        repos_per_key.setdefault(key, []).append(repo)
        if len(repos_per_key[key]) > 1:
            log(f"{key}: several repositories ({repos_per_key[key]}) share one revision key; pin them by hand")
            continue
        if revision and re.fullmatch(r"[0-9a-f]{40}", revision):
            commit = revision
        else:
            commit = resolve(kind, repo, revision)
            log(f"{key}: {repo} @ {revision or 'main'} -> {commit}")
        node = overlay
        for part in key.split("."):
            node = node.setdefault(part, {})
        node["revision"] = commit
    return overlay


def main(argv=None) -> int:
    import argparse

    import yaml

    from alignxfer.config import validate_config

    parser = argparse.ArgumentParser(prog="python -m alignxfer.pin", description=__doc__.split("\n\n")[1])
    parser.add_argument("configs", nargs="+", help="config files, merged in order like snakemake --configfile")
    parser.add_argument("--output", help="write the overlay YAML here (default: standard output)")
    args = parser.parse_args(argv)
    cfg: dict = {}
    for path in ["config.yaml"] * Path("config.yaml").exists() + args.configs:
        with open(path, encoding="utf-8") as handle:
            merge_config(cfg, yaml.safe_load(handle) or {})
    cfg = validate_config(cfg, source=", ".join(args.configs))
    try:
        overlay = revision_overlay(cfg, log=lambda msg: print(msg, file=sys.stderr))
    except Exception as err:  # no network, unknown repository or revision
        print(
            f"python -m alignxfer.pin: asking the hub failed: {type(err).__name__}: {err}. It needs the hub "
            "(https://huggingface.co); run it where that is reachable",
            file=sys.stderr,
        )
        return 1
    text = "# hub commits of every source, from python -m alignxfer.pin\n" + yaml.safe_dump(overlay, sort_keys=True)
    return emit_overlay(text, args.output, args.configs)


if __name__ == "__main__":
    raise SystemExit(main())
