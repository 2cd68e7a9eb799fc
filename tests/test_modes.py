"""A model folder written through alignxfer.io.atomic_dir is readable by group and others (umask
022), also where the writer itself makes a private file: safetensors 0.8 writes 0600."""

import os
import stat

from alignxfer.io import atomic_dir


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_safetensors_file_in_an_atomic_folder_gets_the_umask_mode(tmp_path):
    import torch
    from safetensors.torch import save_file

    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "model") as tmp:
            save_file({"w": torch.zeros(2)}, str(tmp / "model.safetensors"))
            (tmp / "sub").mkdir(mode=0o700)
            (tmp / "sub" / "run.sh").write_text("#!/bin/sh\n")
            os.chmod(tmp / "sub" / "run.sh", 0o700)
    finally:
        os.umask(old)
    model = tmp_path / "model"
    assert mode(model / "model.safetensors") == 0o644
    assert (mode(model), mode(model / "sub"), mode(model / "sub" / "run.sh")) == (0o755, 0o755, 0o755)
