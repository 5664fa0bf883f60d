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
