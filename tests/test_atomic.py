"""Atomic writes: the previous file survives a failed write, and no temporary file is left."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graphrec.atomic import atomic_open, write_json_atomic, write_text_atomic


def test_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text_atomic(target, "good\n")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half-")
        raise RuntimeError("interrupted")
    assert target.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_json_converts_numpy_values(tmp_path: Path) -> None:
    target = write_json_atomic(tmp_path / "sub" / "r.json", {"a": np.int64(3), "b": np.arange(2)})
    assert json.loads(target.read_text()) == {"a": 3, "b": [0, 1]}


def test_append_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whole files"), atomic_open(tmp_path / "x", "a"):
        pass
