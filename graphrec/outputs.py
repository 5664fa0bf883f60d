"""Output folders graphrec owns: a marker file, refusal of folders it did not make, a run lock.

graphrec writes only inside folders it made. A folder it makes (a run's
``--out``, a prepared dataset) holds a marker file :data:`MARKER` naming what it
is; before writing into a folder that already exists, :func:`claim_output_dir`
checks that marker, so a user's own folder — or a file, or the folder holding the
input — is refused with a clear error instead of being overwritten or deleted.
An explicit ``overwrite`` may replace only a folder graphrec made.

A run folder is also locked while a process trains into it (:class:`RunLock`): a
second ``graphrec train`` into the same folder is refused with the holder's PID;
a lock left by a process that no longer runs is taken over.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

#: the marker file in every folder graphrec makes
MARKER = ".graphrec"
#: the lock file of a run folder
LOCK = ".graphrec.lock"


#: kinds of folder that may not lie inside one another (replacing the outer would delete the inner)
NESTING_REFUSED = ("run", "dataset")


class OutputError(ValueError):
    """An output path graphrec refuses to write (the message names it and says why)."""


def read_marker(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The marker of ``folder`` (``{"kind": ...}``), or ``None`` when graphrec did not make it."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and "kind" in value else None


def write_marker(folder: str | os.PathLike[str], kind: str) -> None:
    """Mark ``folder`` as made by graphrec (``kind``: ``"run"``, ``"dataset"``, ``"graphs"``, ``"plots"``)."""
    text = json.dumps({"kind": kind, "made_by": "graphrec"}) + "\n"
    Path(folder, MARKER).write_text(text, encoding="utf-8")


def is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_output_dir(folder: str | os.PathLike[str], kind: str, *, overwrite: bool = False,
                     resume: bool = False, inputs: Iterable[str | os.PathLike[str]] = (),
                     what: str = "--out") -> bool:
    """Check that graphrec may write into ``folder``; change nothing.

    Allowed: a folder that does not exist, an empty folder, a folder graphrec made
    for the same ``kind`` when ``resume`` or ``overwrite`` is set. Refused, with the
    reason: a path that is a file; a non-empty folder graphrec did not make; a folder
    of another kind; a folder of this kind without ``resume`` or ``overwrite``; a
    folder that holds (or is) one of ``inputs``.

    Returns:
        Whether ``folder`` holds earlier output of this kind (to be replaced or resumed).

    Raises:
        OutputError: naming ``folder`` and the way out.
    """
    target = Path(folder)
    for parent in target.resolve().parents if kind in NESTING_REFUSED else ():
        outer = read_marker(parent)
        if outer is not None and outer["kind"] in NESTING_REFUSED:
            raise OutputError(f"{what} {target}: lies inside the graphrec {outer['kind']} folder {parent}, "
                              "whose replacement would delete it; choose a folder outside it")
    for source in inputs:
        if source and Path(source).exists() and is_inside(Path(source), target):
            raise OutputError(f"{what} {target}: holds the input {source}; choose another output folder")
    if target.exists() and not target.is_dir():
        raise OutputError(f"{what} {target}: is a file, not a folder; choose another output path")
    if not target.exists():
        blocking = next((a for a in target.parents if a.exists() and not a.is_dir()), None)
        if blocking is not None:
            raise OutputError(f"{what} {target}: {blocking} is a file, so no folder can be made below it")
        return False
    marker = read_marker(target)
    entries = [p for p in target.iterdir() if p.name not in (MARKER, LOCK)]
    if marker is None:
        if entries:
            count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
            raise OutputError(f"{what} {target}: exists and was not made by graphrec ({count}); "
                              "graphrec never writes into or deletes a folder it did not make: "
                              "choose a new or empty folder")
        return False
    if marker["kind"] != kind:
        raise OutputError(f"{what} {target}: is a graphrec {marker['kind']} folder, not a {kind} folder")
    if entries and not (resume or overwrite):
        raise OutputError(f"{what} {target}: already holds a {kind}; pass --overwrite to replace it"
                          + (" or --resume to continue it" if kind == "run" else ""))
    return bool(entries)


def claim_output_dir(folder: str | os.PathLike[str], kind: str, *, overwrite: bool = False,
                     resume: bool = False, inputs: Iterable[str | os.PathLike[str]] = (),
                     what: str = "--out") -> Path:
    """:func:`check_output_dir`, then make and mark ``folder``; with ``overwrite`` (and no
    ``resume``) empty a folder of this kind first. Returns ``folder``."""
    target = Path(folder)
    earlier = check_output_dir(target, kind, overwrite=overwrite, resume=resume, inputs=inputs, what=what)
    target.mkdir(parents=True, exist_ok=True)
    if earlier and overwrite and not resume:
        remove_entries(target)
    if read_marker(target) is None:
        write_marker(target, kind)
    return target


def remove_entries(folder: Path) -> None:
    """Delete every entry of ``folder`` except its marker and lock (a symlink itself, never its target)."""
    for entry in folder.iterdir():
        if entry.name in (MARKER, LOCK):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def write_output_file(path: str | os.PathLike[str], text: str, *, overwrite: bool = False,
                      what: str = "--out") -> Path:
    """Write a single output file the user named, atomically; an existing file is kept
    unless ``overwrite`` (graphrec cannot tell its own files from the user's).

    Raises:
        OutputError: the path is a folder, or a file that exists without ``overwrite``.
    """
    from graphrec.atomic import write_text_atomic

    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{what} {target}: is a folder; name a file")
    if target.exists() and not overwrite:
        raise OutputError(f"{what} {target}: the file exists; graphrec does not overwrite files it may "
                          "not have made: choose a new name or pass --overwrite")
    blocking = next((a for a in target.parents if a.exists() and not a.is_dir()), None)
    if blocking is not None:
        raise OutputError(f"{what} {target}: {blocking} is a file, so no file can be made below it")
    return write_text_atomic(target, text if text.endswith("\n") else text + "\n")


def check_inside(folder: str | os.PathLike[str], path: str | os.PathLike[str] | None, key: str) -> None:
    """Refuse a configured output ``path`` (e.g. ``train.log_file``) outside ``folder``."""
    if path is None:
        return
    if not is_inside(Path(folder) / path if not Path(path).is_absolute() else Path(path), Path(folder)):
        raise OutputError(f"{key} = {path!s} is outside the run folder {folder}; outputs are written "
                          "only inside the run folder (use a relative path or one below it)")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


class RunLock:
    """An exclusive lock on a run folder for the life of a training process.

    The lock file holds the owner's PID. Taking a lock held by a running process
    raises :class:`OutputError` naming that PID; a lock whose process is gone is
    taken over. Use as a context manager.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / LOCK
        self.held = False

    def acquire(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    holder = int(self.path.read_text().strip() or "0")
                except (OSError, ValueError):
                    holder = 0
                if holder and holder != os.getpid() and pid_alive(holder):
                    raise OutputError(f"{self.path.parent}: another graphrec process (PID {holder}) is "
                                      "writing into this run folder; wait for it or stop it") from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()}\n")
            self.held = True
            return
        raise OutputError(f"{self.path}: could not take the run lock")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


__all__ = ["LOCK", "MARKER", "OutputError", "RunLock", "check_inside", "check_output_dir", "claim_output_dir",
           "is_inside", "pid_alive", "read_marker", "remove_entries", "write_marker", "write_output_file"]
