"""Atomic file writes: a temporary sibling file, flushed and fsynced, then renamed into place.

Every file graphrec writes (datasets' parts, checkpoints, graphs, results, logs of
record) goes through here, so an interrupted write leaves the previous good file
intact and no half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path``, on error it is removed.

    Args:
        path: the final file; its directory is created when missing.
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        kwargs: passed to :func:`open` (e.g. ``encoding``).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike[str], payload: Any, indent: int = 2) -> Path:
    """Write ``payload`` as JSON (numpy/torch scalars and arrays converted) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=indent, default=json_default)
        fh.write("\n")
    return Path(path)


def json_default(value: Any) -> Any:
    """JSON fallback for numpy and torch values (``tolist``/``item``), else ``str``."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_folder(folder: Path, directory: bool = False) -> None:
    """Flush the files of ``folder`` (or, with ``directory``, the folder's own entry list) to disk."""
    paths = [folder] if directory else [p for p in folder.iterdir() if p.is_file()]
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # e.g. a platform that cannot open a directory
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def replace_directory(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an existing ``target`` is swapped out, then removed."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        try:
            os.replace(new, target)
        except BaseException:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def write_png_atomic(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Lay out a matplotlib figure, write it to ``path`` as PNG atomically, close it if pyplot made it."""
    fig.tight_layout()
    target = Path(path)
    with atomic_open(target, "wb") as fh:
        fig.savefig(fh, format="png", dpi=dpi)
    if getattr(fig.canvas, "manager", None) is not None:  # a pyplot figure: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return target
