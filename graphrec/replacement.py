"""Replacing a run as a transaction: the old run is set aside, never deleted, until the new one stands.

``graphrec train --overwrite`` into a folder that holds a finished run does not empty it.
Under the run's lock it

1. checks that every entry of the folder is something graphrec wrote there (the outputs the
   folder's marker records; for folders made before outputs were recorded, the names a run
   writes) and refuses, listing them, when a user's file is among them;
2. moves the old run's entries into a hidden sibling ``.<name>.replaced-<pid>`` (one rename
   per entry on the same filesystem; the sibling carries a marker naming the folder);
3. trains the new run in the folder; when the new run has written its first checkpoint (or
   has finished), the set-aside run is deleted (:meth:`Replacement.commit`); when it fails
   before that, its partial files are removed and the old run is moved back
   (:meth:`Replacement.rollback`).

A process killed between 2 and 3 leaves the old run in the sibling: the next command on the
folder says so (:func:`check_no_leftover`) instead of guessing, so nothing is lost.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from graphrec.atomic import fsync_folder
from graphrec.outputs import LOCK, MARKER, OutputError, pid_alive, read_marker, remove_entries

#: the top-level names a run writes, for run folders whose marker records no outputs
DEFAULT_RUN_OUTPUTS = ("train.jsonl", "checkpoints", "result.json", "ranks_*.npy", "per_user_*.npy", "tb")


def set_aside_name(folder: Path, pid: int) -> Path:
    return folder.parent / f".{folder.name}.replaced-{pid}"


def record_outputs(folder: str | os.PathLike[str], names: Iterable[str]) -> None:
    """Add ``names`` (top-level entries graphrec writes into ``folder``) to its marker."""
    marker_path = Path(folder) / MARKER
    marker = read_marker(folder) or {"kind": "run", "made_by": "graphrec"}
    outputs = sorted(set(marker.get("outputs", [])) | {Path(n).parts[0] for n in names if n})
    marker["outputs"] = outputs
    tmp = marker_path.with_name(f"{MARKER}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(marker) + "\n", encoding="utf-8")
    os.replace(tmp, marker_path)


def foreign_entries(folder: Path) -> list[str]:
    """Entries of ``folder`` that graphrec did not write (by its marker's recorded outputs)."""
    marker = read_marker(folder) or {}
    patterns = marker.get("outputs") or list(DEFAULT_RUN_OUTPUTS)
    return sorted(entry.name for entry in folder.iterdir() if entry.name not in (MARKER, LOCK)
                  and not any(fnmatch.fnmatchcase(entry.name, p) for p in patterns))


def check_no_leftover(folder: str | os.PathLike[str], what: str = "--out") -> None:
    """Refuse ``folder`` while an earlier run of it lies set aside by a replacement that never finished."""
    target = Path(folder)
    if not target.parent.is_dir():
        return
    for leftover in sorted(target.parent.glob(f".{target.name}.replaced-*")):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and pid_alive(int(pid)) and int(pid) != os.getpid():
            continue  # a replacement in progress; the run lock refuses the second process
        raise OutputError(f"{what} {target}: an earlier run of this folder was set aside in {leftover} "
                          "by a replacement that did not finish; move its files back into the folder "
                          "(to keep it) or delete it, then run again")


class Replacement:
    """Set a run folder's entries aside, then delete them (commit) or put them back (rollback)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.aside = set_aside_name(self.folder, os.getpid())
        self.done = False

    def begin(self) -> None:
        """Refuse a folder holding files graphrec did not write; move the run's entries aside."""
        foreign = foreign_entries(self.folder)
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise OutputError(f"--overwrite {self.folder}: holds {len(foreign)} entr"
                              f"{'y' if len(foreign) == 1 else 'ies'} graphrec did not write ({shown}); "
                              "graphrec deletes only its own files: move them out first")
        self.aside.mkdir()
        (self.aside / MARKER).write_text(
            json.dumps({"kind": "replaced", "made_by": "graphrec", "folder": str(self.folder)}) + "\n",
            encoding="utf-8")
        for entry in sorted(self.folder.iterdir()):
            if entry.name not in (MARKER, LOCK):
                os.replace(entry, self.aside / entry.name)
        fsync_folder(self.aside, directory=True)
        fsync_folder(self.folder, directory=True)

    def commit(self) -> None:
        """The new run stands: delete the old one."""
        if not self.done:
            shutil.rmtree(self.aside, ignore_errors=True)
            self.done = True

    def rollback(self) -> None:
        """The new run failed: remove what it wrote and move the old run back."""
        if self.done:
            return
        remove_entries(self.folder)
        for entry in sorted(self.aside.iterdir()):
            if entry.name != MARKER:
                os.replace(entry, self.folder / entry.name)
        shutil.rmtree(self.aside, ignore_errors=True)
        self.done = True


__all__ = ["DEFAULT_RUN_OUTPUTS", "Replacement", "check_no_leftover", "foreign_entries", "record_outputs"]
