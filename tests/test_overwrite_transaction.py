"""``--overwrite`` as a transaction: the old run is set aside, and comes back when the new one fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_runs import TINY, fails, train_argv

from graphrec.cli import main
from graphrec.outputs import MARKER, OutputError, write_marker
from graphrec.replacement import Replacement, check_no_leftover, foreign_entries, record_outputs


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MARKER}


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "done"
    assert main(train_argv(run)) == 0
    return run


def test_a_finished_run_records_what_it_wrote(finished: Path) -> None:
    marker = json.loads((finished / MARKER).read_text())
    assert {"result.json", "train.jsonl", "checkpoints"} <= set(marker["outputs"])
    assert foreign_entries(finished) == []


def test_overwrite_refuses_to_delete_a_users_file(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (finished / "analysis.txt").write_text("my notes")
    before = _snapshot(finished)
    fails(capsys, train_argv(finished, "--overwrite"), "analysis.txt", "did not write")
    assert _snapshot(finished) == before


def test_an_overwrite_that_fails_puts_the_old_run_back(finished: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(finished)
    # a weight for a term the model never returns: refused once training has begun
    assert main(train_argv(finished, "--overwrite", "train.loss_weights={nosuch: 1.0}")) == 2
    capsys.readouterr()
    assert _snapshot(finished) == before
    assert not list(finished.parent.glob(".done.replaced-*"))


def test_an_overwrite_that_succeeds_replaces_the_run_and_leaves_nothing_aside(finished: Path) -> None:
    old = json.loads((finished / "result.json").read_text())
    assert main(train_argv(finished, "--overwrite", "--seed", "7")) == 0
    assert json.loads((finished / "result.json").read_text())["seed"] == 7 != old["seed"]
    assert not list(finished.parent.glob(".done.replaced-*"))


def test_a_failed_start_leaves_no_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(train_argv(tmp_path / "new", "train.loss_weights={nosuch: 1.0}")) == 2
    capsys.readouterr()
    assert not (tmp_path / "new").exists()


def test_a_run_set_aside_by_a_killed_replacement_is_named_not_lost(finished: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    aside = finished.parent / ".done.replaced-999999999"  # no such process
    aside.mkdir()
    (aside / "result.json").write_text("{}")
    fails(capsys, train_argv(finished, "--overwrite"), str(aside), "move its files back")
    assert (aside / "result.json").exists()


def test_runs_and_datasets_do_not_nest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["prepare", "synthetic", "--num-users", "40", "--num-items", "30", "--out", str(data)]) == 0
    fails(capsys, train_argv(data / "run1"), "inside the graphrec dataset folder")
    run = tmp_path / "run"
    assert main(train_argv(run)) == 0
    fails(capsys, ["prepare", "synthetic", "--num-users", "40", "--num-items", "30",
                             "--out", str(run / "data")], "inside the graphrec run folder")


def test_a_dataset_overwrite_keeps_a_users_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    argv = ["prepare", "synthetic", "--num-users", "40", "--num-items", "30", "--out", str(data)]
    assert main(argv) == 0
    (data / "notes.md").write_text("mine")
    fails(capsys, [*argv, "--overwrite"], "notes.md", "move them out first")
    assert (data / "notes.md").read_text() == "mine"


def test_replacement_rolls_back_and_commits(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    write_marker(folder, "run")
    record_outputs(folder, ["result.json", "checkpoints/best.pt"])
    (folder / "result.json").write_text("old")
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "best.pt").write_text("old weights")
    replacement = Replacement(folder)
    replacement.begin()
    assert sorted(p.name for p in folder.iterdir()) == [MARKER]
    (folder / "result.json").write_text("new, half written")
    replacement.rollback()
    assert (folder / "result.json").read_text() == "old"
    assert (folder / "checkpoints" / "best.pt").read_text() == "old weights"
    assert not replacement.aside.exists()
    again = Replacement(folder)
    again.begin()
    (folder / "result.json").write_text("new")
    again.commit()
    assert (folder / "result.json").read_text() == "new" and not again.aside.exists()
    check_no_leftover(folder)  # nothing left beside it


def test_a_leftover_of_a_live_replacement_is_not_reported(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (tmp_path / f".r.replaced-{os.getppid()}").mkdir()  # a live process (this test's parent)
    check_no_leftover(folder)
    (tmp_path / ".r.replaced-999999999").mkdir()
    with pytest.raises(OutputError, match="set aside"):
        check_no_leftover(folder)


def test_sigkill_during_a_replacement_loses_nothing(finished: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import signal
    import subprocess
    import sys
    import time

    before = (finished / "result.json").read_bytes()
    argv = [sys.executable, "-m", "graphrec", "train", "--out", str(finished), "--epochs", "500",
            "--data", "synthetic", "--no-progress", "--overwrite", *TINY, "train.patience=0",
            "train.checkpoint_dir=ck2"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        aside: list[Path] = []
        while time.monotonic() < deadline and not aside:
            aside = list(finished.parent.glob(".done.replaced-*"))
            time.sleep(0.05)
        assert aside, "the replacement never set the old run aside"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    (leftover,) = aside
    if not (leftover / "result.json").exists():  # killed after the new run's first checkpoint
        pytest.skip("the new run reached its first checkpoint before the kill")
    assert (leftover / "result.json").read_bytes() == before
    fails(capsys, train_argv(finished, "--overwrite"), str(leftover), "move its files back")
