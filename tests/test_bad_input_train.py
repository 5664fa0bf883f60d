"""What a careless or adversarial user can do to `graphrec train / evaluate / recommend`, refused clearly.

Every probe runs the real command line (``graphrec.cli.main``) on tiny synthetic
data and asserts the exit status, that the message names what is wrong, that no
traceback is printed and that no file outside the run changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from graphrec.cli import main
from graphrec.data.dataset import SequenceDataset
from graphrec.outputs import LOCK, MARKER

TINY = ["data_options.num_users=60", "data_options.num_items=40", "data_options.num_categories=9",
        "data_options.num_intents=3", "data_options.mean_length=6", "train.batch_size=32",
        "model.hidden_size=8", "model.num_layers=1"]


def _train(out: Path, *extra: str, epochs: int = 1) -> list[str]:
    """``graphrec train`` on tiny synthetic data; ``extra``: flags (``--x``) and ``key=value`` overrides."""
    flags = [e for e in extra if "=" not in e]
    overrides = [e for e in extra if "=" in e]
    return ["train", "--out", str(out), "--epochs", str(epochs), "--data", "synthetic", "--no-progress",
            *flags, *TINY, *overrides]


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def test_a_folder_graphrec_did_not_make_is_never_touched(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "p"
    mine.mkdir()
    (mine / "notes.txt").write_text("notes")
    _fails(capsys, _train(mine), str(mine), "not made by graphrec")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    a_file = tmp_path / "f.txt"
    a_file.write_text("keep")
    _fails(capsys, _train(a_file), "is a file")
    assert a_file.read_text() == "keep"


def test_a_finished_run_is_replaced_only_on_request(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(_train(run)) == 0
    log = (run / "train.jsonl").read_text()
    assert (run / MARKER).is_file() and not (run / LOCK).exists()
    _fails(capsys, _train(run, "train.lr=0.01"), "already holds a run", "--overwrite", "--resume")
    assert (run / "train.jsonl").read_text() == log  # the earlier run is intact
    assert main(_train(run, "--overwrite", "train.lr=0.01")) == 0
    assert json.loads((run / "result.json").read_text())["config"]["train"]["lr"] == 0.01


@pytest.mark.parametrize("key", ["train.log_file=../victim.txt", "train.checkpoint_dir=../../elsewhere",
                                 "train.tensorboard_dir=/tmp/graphrec-outside"])
def test_configured_outputs_stay_inside_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                key: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    _fails(capsys, _train(tmp_path / "run", key), key.split("=")[0], "outside the run folder")
    assert victim.read_text() == "precious" and not (tmp_path.parent / "elsewhere").exists()


@pytest.mark.parametrize("change, needle", [
    (["train.lr=0.05"], "train.lr: 0.001 -> 0.05"),
    (["model.hidden_size=16"], "model.hidden_size: "),
    (["data_options.seed=5"], "data_checksum"),
    (["--protocol", "user"], "protocol"),
])
def test_resume_refuses_another_experiment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           change: list[str], needle: str) -> None:
    run = tmp_path / "run"
    assert main(_train(run, epochs=1)) == 0
    before = (run / "checkpoints" / "last.pt").read_bytes()
    _fails(capsys, _train(run, "--resume", *change, epochs=2), "cannot resume", needle)
    assert (run / "checkpoints" / "last.pt").read_bytes() == before


def test_resume_of_a_finished_run_keeps_its_training_time(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(_train(run, epochs=2)) == 0
    first = json.loads((run / "result.json").read_text())
    assert main(_train(run, "--resume", "train.patience=3", epochs=2)) == 0  # allowed change
    again = json.loads((run / "result.json").read_text())
    assert again["train_seconds"] == pytest.approx(first["train_seconds"]) and again["train_seconds"] > 0
    timing = ("seconds", "users_per_s")
    assert {k: v for k, v in again["metrics"]["test"].items() if k not in timing} == \
           {k: v for k, v in first["metrics"]["test"].items() if k not in timing}


def test_a_running_folder_is_locked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(_train(run)) == 0
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / LOCK).write_text(f"{holder.pid}\n")
        _fails(capsys, _train(run, "--resume", epochs=2), f"PID {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    assert main(_train(run, "--resume", epochs=2)) == 0  # the holder is gone: its stale lock is taken over
    assert not (run / LOCK).exists()


def test_impossible_experiments_are_refused_before_training(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    short = SequenceDataset.from_sequences([[1, 2], [2, 3], [3, 1]], num_items=3)
    data = tmp_path / "short"
    short.save(data)
    _fails(capsys, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--no-progress"],
           "no valid and no test", "at least 3 interactions")
    assert not (tmp_path / "run").exists()


def test_the_default_metric_follows_the_protocol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_train(tmp_path / "user", "--protocol", "user")) == 0
    assert json.loads((tmp_path / "user" / "result.json").read_text())["metric"] == "Recall@20"
    _fails(capsys, _train(tmp_path / "bad", "--protocol", "user", "train.metric=MRR"),
           "train.metric = 'MRR' is not produced under protocol 'user'", "Recall@20")


@pytest.mark.parametrize("override, needle", [
    ("model.hidden_size=abc", "model.hidden_size: cannot use 'abc' as int"),
    ("model.hidden_size=-4", "model.hidden_size must be a positive integer, got -4"),
    ("model.dropout=1.5", "model.dropout must lie in [0, 1)"),
    ("model.hiden_size=8", "did you mean 'hidden_size'"),
    ("data_options.num_user=5", "did you mean 'num_users'"),
    ("train.device=gpu", "'gpu' is not a device"),
])
def test_bad_settings_give_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           override: str, needle: str) -> None:
    _fails(capsys, _train(tmp_path / "run", override), needle)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails(capsys, _train(tmp_path / "run", "--device", "cuda"), "CUDA is not available", "--device cpu")


def test_evaluate_and_recommend_refuse_a_crafted_checkpoint(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(_train(run)) == 0
    witness = tmp_path / "code_ran"

    class Payload:
        def __reduce__(self) -> tuple:
            return (os.mkdir, (str(witness),))

    torch.save({"model": {}, "metadata": Payload()}, run / "checkpoints" / "best.pt")
    _fails(capsys, ["evaluate", str(run)], "best.pt", "not a readable graphrec checkpoint")
    _fails(capsys, ["recommend", str(run), "--users", "0"], "not a readable graphrec checkpoint")
    assert not witness.exists()


def test_lock_ignores_garbage(tmp_path: Path) -> None:
    from graphrec.outputs import RunLock

    (tmp_path / LOCK).write_text("not a pid")
    with RunLock(tmp_path):
        assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())
    assert not (tmp_path / LOCK).exists()


@pytest.mark.parametrize("command", [
    ["recommend", "{run}", "--users", "0", "--out", "{file}"],
    ["evaluate", "{run}", "--json", "{file}"],
])
def test_single_output_files_are_not_overwritten_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          command: list[str]) -> None:
    run = tmp_path / "run"
    assert main(_train(run)) == 0
    mine = tmp_path / "mine.json"
    mine.write_text("my notes")
    argv = [a.format(run=run, file=mine) for a in command]
    _fails(capsys, argv, str(mine), "--overwrite")
    assert mine.read_text() == "my notes"
    assert main([*argv, "--overwrite"]) == 0 and mine.read_text() != "my notes"
    _fails(capsys, [a.format(run=run, file=tmp_path) for a in command], "is a folder")
