"""Every console line of a job names the job (rule and wildcards), its first and last lines too."""

from types import SimpleNamespace

from alignxfer import console as C
from workflow_scripts.snakemake_job import job


def test_pretraining_labels_name_the_pretraining_seed():
    assert C.job_label("pretrain", {"objective": "weam", "pseed": "13"}) == "pretrain weam/p13"
    assert C.job_label("align", {"lang": "de", "direction": "forward"}) == "align de/forward"


def test_start_and_done_lines_carry_the_jobs_label(tmp_path, monkeypatch):
    monkeypatch.delenv(C.LABEL_ENV, raising=False)
    smk = SimpleNamespace(
        rule="finetune",
        wildcards={"task": "topic", "objective": "weam", "seed": "2"},
        log=[str(tmp_path / "job.log")],
        threads=1,
        resources=SimpleNamespace(gpu=0),
        input=[],
        output=[],
        params={},
        config={"tracking": {"enabled": False}},
    )
    with job(smk, project_dir=tmp_path):
        print(f"{C.label()} epoch 1/1")
    out = (tmp_path / "job.log").read_text().splitlines()  # what the console shows too
    assert out[0].startswith("[finetune topic/weam/seed2] started, threads=")
    assert out[1] == "[finetune topic/weam/seed2] epoch 1/1"
    assert out[2].startswith("[finetune topic/weam/seed2] done in ")
