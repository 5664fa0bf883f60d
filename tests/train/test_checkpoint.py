"""Atomic checkpoint writes and RNG capture/restore."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.train import checkpoint
from graphrec.train.checkpoint import load_checkpoint, save_checkpoint
from graphrec.train.seed import capture_rng_state, restore_rng_state, seed_everything


def test_roundtrip(tmp_path: Path) -> None:
    state = {"epoch": 3, "model": {"w": torch.arange(4.0)}, "history": [{"loss": 1.5}]}
    save_checkpoint(tmp_path / "sub" / "last.pt", state)
    back = load_checkpoint(tmp_path / "sub" / "last.pt")
    assert back["epoch"] == 3 and torch.equal(back["model"]["w"], torch.arange(4.0))
    assert back["history"] == [{"loss": 1.5}]


def test_crash_during_write_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1})

    def broken_save(obj: object, fh: object) -> None:
        fh.write(b"partial garbage")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temp file left


def test_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt: not a readable graphrec checkpoint"):
        load_checkpoint(bad)


def test_rng_capture_restore() -> None:
    seed_everything(5)
    gen = torch.Generator().manual_seed(9)
    state = capture_rng_state(gen)
    first = (random.random(), np.random.rand(), torch.rand(3), torch.randperm(10, generator=gen))
    random.random(), np.random.rand(), torch.rand(7)  # move on
    restore_rng_state(state, gen)
    again = (random.random(), np.random.rand(), torch.rand(3), torch.randperm(10, generator=gen))
    assert first[:2] == again[:2]
    assert torch.equal(first[2], again[2]) and torch.equal(first[3], again[3])


class _Payload:
    """Unpickling this would create a file: what a crafted checkpoint could do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_a_crafted_checkpoint_runs_no_code(tmp_path: Path) -> None:
    import torch

    witness = tmp_path / "code_ran"
    crafted = tmp_path / "best.pt"
    torch.save({"model": {}, "payload": _Payload(str(witness))}, crafted)
    with pytest.raises(ValueError, match="not a readable graphrec checkpoint"):
        load_checkpoint(crafted)
    assert not witness.exists()
