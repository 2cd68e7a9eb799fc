"""Atomic file output and small readers/writers shared by every stage.

Every output of the workflow goes through these helpers: content is written to a temporary
name in the destination's folder and renamed into place only when complete, so that an
interrupted job never leaves a truncated file that looks finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    """This process's umask, read without changing it where Linux reports it (os.umask sets it
    for the whole process, which another thread could see for an instant)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _tmp_sibling(path: Path, directory: bool = False) -> Path:
    """A fresh temporary name beside ``path``. mkstemp/mkdtemp create it private (0600/0700);
    it gets the mode a plain open()/mkdir() would give (0644/0755 under umask 022), so that
    the renamed output is readable as any other file of the results."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = _umask()
    if directory:
        name = tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.chmod(name, 0o777 & ~mask)
        return Path(name)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~mask)
    finally:
        os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file path; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    tmp = _tmp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary file for writing; rename it to ``path`` when closed without error."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding, newline="" if encoding else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def _umask_modes(root: Path) -> None:
    """Give every file and folder under ``root`` the mode the umask gives a new one (0644/0755
    under umask 022; an executable file stays executable): writers that go through a private
    temporary file of their own (safetensors 0.8 writes ``model.safetensors`` 0600) would
    otherwise leave outputs that the group and others cannot read."""
    mask = _umask()
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o777 & ~mask)
        for name in files:
            full = os.path.join(folder, name)
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                os.chmod(full, (0o777 if st.st_mode & stat.S_IXUSR else 0o666) & ~mask)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder; replace ``path`` with it if the block succeeds (everything in
    it with the modes of the umask, :func:`_umask_modes`)."""
    path = Path(path)
    tmp = _tmp_sibling(path, directory=True)
    try:
        yield tmp
        _umask_modes(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_open(path) as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False, sort_keys=True)
        handle.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> int:
    count = 0
    with atomic_open(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


def read_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({err.msg})") from err


def write_lines(path: str | os.PathLike, lines: Iterable[str]) -> int:
    count = 0
    with atomic_open(path) as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")
            count += 1
    return count


def read_lines(path: str | os.PathLike) -> list[str]:
    """Read a UTF-8 text file into lines; invalid UTF-8 fails with the file and line."""
    lines = []
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                lines.append(raw.decode("utf-8").rstrip("\n").rstrip("\r"))
            except UnicodeDecodeError as err:
                raise ValueError(
                    f"{path}:{lineno}: invalid UTF-8 at byte {err.start} of the line; re-encode the file as UTF-8"
                ) from err
    return lines


def emit_overlay(text: str, output, configs) -> int:
    """A command's config overlay: written to ``output`` (with how to use it, on stderr) or printed."""
    import sys

    if output:
        Path(output).write_text(text, encoding="utf-8")
        print(f"wrote {output}; run with --configfile {' '.join(map(str, configs))} {output}", file=sys.stderr)
    else:
        print(text, end="")
    return 0
