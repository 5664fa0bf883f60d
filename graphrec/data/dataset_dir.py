"""The folder of a prepared dataset: may it be written, and what an interrupted save left beside it.

:meth:`graphrec.data.dataset.SequenceDataset.save` writes into a temporary sibling
``.<name>.tmp-<pid>-<random>`` and swaps it in (:func:`graphrec.atomic.replace_directory`);
this module checks the target first and cleans what a killed save left.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from graphrec.outputs import MARKER, OutputError, check_output_dir, is_inside, pid_alive, read_marker

logger = logging.getLogger("graphrec.data.dataset")

#: the kind written in a prepared dataset's marker file
DATASET_KIND = "dataset"
#: the files :meth:`SequenceDataset.save` writes
DATASET_FILES = frozenset({"arrays.npz", "meta.json", "names.json", MARKER})


def check_dataset_dir(directory: str | os.PathLike[str], overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike[str]] = (), what: str = "--out") -> bool:
    """Check that a dataset may be written to ``directory``; change nothing.

    :func:`graphrec.outputs.check_output_dir` for kind ``"dataset"``, with a clear
    message for a dataset prepared by an older graphrec (it has ``meta.json`` but no
    marker): it still loads, but graphrec does not replace it.

    Returns:
        Whether ``directory`` holds an earlier dataset (replaced with ``overwrite``).

    Raises:
        OutputError: naming ``directory`` and the way out.
    """
    target = Path(directory)
    existing = next((p for p in target.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise OutputError(f"{what} {target}: {existing} is a file, not a folder; choose another output path")
    if (target.is_dir() and read_marker(target) is None and (target / "meta.json").is_file()
            and not any(Path(i).exists() and is_inside(Path(i), target) for i in inputs)):
        raise OutputError(
            f"{what} {target}: holds a dataset prepared by an older graphrec (no {MARKER} marker file); it "
            "still loads, but graphrec replaces only folders that carry its marker: delete it yourself "
            "or choose a new folder"
        )
    earlier = check_output_dir(target, DATASET_KIND, overwrite=overwrite, inputs=inputs, what=what)
    if earlier:
        foreign = sorted(entry.name for entry in target.iterdir() if entry.name not in DATASET_FILES
                         and not (entry.is_dir() and read_marker(entry) is not None))
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            entries = f"{len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'}"
            raise OutputError(f"{what} {target}: holds {entries} "
                              f"graphrec did not write ({shown}); replacing the dataset would delete them: "
                              "move them out first")
    return earlier


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove what a killed earlier :meth:`SequenceDataset.save` of ``directory`` left beside it.

    Only folders named by save's own patterns are touched:

    * ``.<name>.tmp-<pid>-<random>`` (and ``.<name>.tmp-<random>`` of older versions)
      holding nothing but the files save writes, when process ``<pid>`` no longer
      runs: removed;
    * ``.<name>.old-<pid>``, the previous copy set aside during the final swap,
      when ``<pid>`` no longer runs: put back when ``directory`` is missing (the
      swap was cut between its two renames), else removed.

    Returns:
        The folders removed or put back.
    """
    target = Path(directory)
    if not target.parent.is_dir():
        return []
    name = re.escape(target.name)
    temporary = re.compile(rf"\.{name}\.tmp-(?:(\d+)-)?[A-Za-z0-9_]{{8}}")
    old = re.compile(rf"\.{name}\.old-(\d+)")
    handled = []
    for entry in sorted(target.parent.iterdir()):
        if not entry.is_dir() or entry.is_symlink():
            continue
        match = temporary.fullmatch(entry.name)
        if match is not None:
            pid = int(match.group(1) or 0)
            if (pid and pid_alive(pid)) or not {p.name for p in entry.iterdir()} <= DATASET_FILES:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            logger.warning("removed %s, left by an interrupted save", entry)
            handled.append(entry)
            continue
        match = old.fullmatch(entry.name)
        if match is None or pid_alive(int(match.group(1))):
            continue
        if not ((entry / "meta.json").is_file() or read_marker(entry) is not None):
            continue
        if not target.exists():
            os.replace(entry, target)
            logger.warning("put back %s as %s: an interrupted save had set it aside", entry, target)
        else:
            shutil.rmtree(entry, ignore_errors=True)
            logger.warning("removed %s, left by an interrupted save", entry)
        handled.append(entry)
    return handled


__all__ = ["DATASET_FILES", "DATASET_KIND", "check_dataset_dir", "remove_stale_temporaries"]
