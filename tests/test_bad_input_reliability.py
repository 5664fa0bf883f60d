"""Second round of careless-user probes: overwrite never empties a folder another process trains
into, resume only resumes, a run's own files cannot be configured as outputs, and operating-system
errors reach the user as one line naming the path."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from cli_runs import fails, train_argv

from graphrec.cli import error_line, main
from graphrec.outputs import LOCK


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "done"
    assert main(train_argv(run)) == 0
    return run


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_overwrite_of_a_folder_in_training_is_refused_before_anything_is_deleted(
        finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(finished)
    (finished / LOCK).write_text(f"{os.getppid()}\n")  # a live process (this test's parent) holds it
    try:
        fails(capsys, train_argv(finished, "--overwrite"), "another graphrec process")
        after = _snapshot(finished)
        assert {k: v for k, v in after.items() if k != LOCK} == {k: v for k, v in before.items() if k != LOCK}
    finally:
        (finished / LOCK).unlink()


def test_resume_without_a_last_checkpoint_does_not_start_over(finished: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(finished)
    fails(capsys, train_argv(finished, "--resume", "train.checkpoint_dir=elsewhere", "train.lr=0.01"),
           "no ", "last.pt", "--overwrite")
    assert _snapshot(finished) == before


@pytest.mark.parametrize("setting", ["train.log_file=result.json", "train.log_file=.graphrec",
                                     "train.log_file=checkpoints/last.pt",
                                     "train.tensorboard_dir=checkpoints", "train.checkpoint_dir=."])
def test_a_runs_own_files_cannot_be_configured_as_outputs(tmp_path: Path, setting: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, train_argv(tmp_path / "r", setting), setting.split("=")[0])
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("code,needle", [(errno.EACCES, "no permission"), (errno.ENOSPC, "disk is full"),
                                         (errno.EISDIR, "a folder where a file was expected")])
def test_operating_system_errors_are_one_line_naming_the_path(code: int, needle: str) -> None:
    line = error_line(OSError(code, os.strerror(code), "/some/path"))
    assert line.startswith("/some/path: ") and needle in line and "\n" not in line


def test_a_config_that_is_a_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, ["train", "--config", str(tmp_path), "--out", str(tmp_path / "r")], str(tmp_path))


def test_runtime_errors_show_their_first_line_only() -> None:
    assert error_line(RuntimeError("bad size\n  frame 1\n  frame 2")) == "bad size"
    assert "out of range" in error_line(OverflowError("int too large"))
