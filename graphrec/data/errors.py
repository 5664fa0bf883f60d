"""Errors raised for bad input files: each names the file, the line and the problem."""

from __future__ import annotations

import os


class DataFormatError(ValueError):
    """A problem with an input file.

    Args:
        path: the file (or directory) at fault.
        line: 1-based line number where the problem is, or ``None`` for the whole file.
        message: what is wrong and, where possible, what to do about it.
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")


def first_reason(exc: BaseException) -> str:
    """The first line of a loader's error, without the advice to load the file unsafely.

    ``torch.load`` and ``numpy.load`` explain a refused file at length and suggest
    ``weights_only=False`` / ``allow_pickle=True``, which would let a crafted file run code;
    graphrec never does that, so the suggestion is dropped.
    """
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        advice = "weights_only" in line or "allow_pickle" in line or "unsafe" in line.lower()
        if line and not advice:
            return f"{type(exc).__name__}: {line[:200]}"
    return type(exc).__name__
