"""Head rate of intent clusters (S4Rec Fig. 3): pure counts, and `graphrec analyze head-rate` on tiny runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graphrec.analysis.head_rate import cluster_assignments, cluster_head_rates, num_clusters
from graphrec.cli import main
from graphrec.eval.head_tail import head_users
from graphrec.experiment.runs import load_run
from graphrec.outputs import MARKER, read_marker

TINY = ["data_options.num_users=60", "data_options.num_items=40", "data_options.num_categories=9",
        "data_options.num_intents=3", "data_options.mean_length=6", "train.batch_size=32",
        "model.hidden_size=8", "model.num_layers=1"]


def test_cluster_head_rates_by_hand() -> None:
    clusters = np.array([0, 0, 0, 2, 2, 3])
    is_head = np.array([True, False, False, True, True, False])
    sizes, rates = cluster_head_rates(clusters, is_head, 5)
    assert sizes.tolist() == [3, 0, 2, 1, 0]
    np.testing.assert_allclose(rates[[0, 2, 3]], [1 / 3, 1.0, 0.0])
    assert np.isnan(rates[1]) and np.isnan(rates[4])
    filled = sizes > 0
    assert (sizes[filled] * rates[filled]).sum() / sizes.sum() == pytest.approx(is_head.mean())
    with pytest.raises(ValueError, match="0..4"):
        cluster_head_rates(np.array([5]), np.array([True]), 5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("head_rate")
    made = {}
    for name, options in (("s4rec", ["model.num_prototypes=6"]), ("iclrec", ["model.num_intents=5"]),
                          ("sasrec", [])):
        out = root / name
        assert main(["train", "--out", str(out), "--epochs", "1", "--data", "synthetic", "--no-progress",
                     "--model", name, *TINY, *options]) == 0
        made[name] = out
    return made


def test_assignments_cover_every_training_sequence(runs: dict[str, Path]) -> None:
    for name, k in (("s4rec", 6), ("iclrec", 5)):
        run = load_run(runs[name])
        clusters = cluster_assignments(run.model, run.split, batch_size=7)
        assert clusters.shape == (run.split.num_train_rows,) and num_clusters(run.model) == k
        assert clusters.min() >= 0 and clusters.max() < k
        np.testing.assert_array_equal(clusters, cluster_assignments(run.model, run.split))  # batching-free


def test_analyze_head_rate_writes_plot_and_numbers(runs: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plots"
    assert main(["analyze", "head-rate", str(runs["s4rec"]), str(runs["iclrec"]), "--out", str(out)]) == 0
    assert "head share" in capsys.readouterr().out
    assert (out / "head_rate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert read_marker(out) == {"kind": "plots", "made_by": "graphrec"}
    report = json.loads((out / "head_rate.json").read_text())
    assert [r["label"] for r in report["runs"]] == ["s4rec", "iclrec"]
    assert [r["clusters"] for r in report["runs"]] == ["prototypes", "intents"]
    for entry, name in zip(report["runs"], ("s4rec", "iclrec"), strict=True):
        sizes = np.array(entry["cluster_sizes"])
        rates = np.array([np.nan if r is None else r for r in entry["head_rates"]])
        filled = sizes > 0
        assert np.all((rates[filled] >= 0) & (rates[filled] <= 1))
        assert all((r is None) == (s == 0) for r, s in zip(entry["head_rates"], sizes, strict=True))
        split = load_run(runs[name]).split
        overall = head_users(split)[split.train_users].mean()
        assert sizes.sum() == split.num_train_rows == entry["num_sequences"]
        assert entry["head_share"] == pytest.approx(overall)
        assert (sizes[filled] * rates[filled]).sum() / sizes.sum() == pytest.approx(overall, rel=1e-12)
        assert entry["summary"]["size_weighted_mean"] == pytest.approx(overall, rel=1e-12)
    # a second time only with --overwrite, into a folder graphrec made
    assert main(["analyze", "head-rate", str(runs["s4rec"]), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["analyze", "head-rate", str(runs["s4rec"]), "--out", str(out), "--overwrite",
                 "--labels", "mine"]) == 0
    assert [r["label"] for r in json.loads((out / "head_rate.json").read_text())["runs"]] == ["mine"]


def test_analyze_head_rate_refusals(runs: dict[str, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["analyze", "head-rate", str(runs["sasrec"]), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "no intent clusters" in err and "Traceback" not in err
    assert not (tmp_path / "p").exists()  # nothing made before the analysis could run
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["analyze", "head-rate", str(runs["s4rec"]), "--out", str(mine)]) == 2
    assert "not made by graphrec" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"] and not (mine / MARKER).exists()
    assert main(["analyze", "head-rate", str(runs["s4rec"]), "--out", str(runs["s4rec"].parent)]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert main(["analyze", "head-rate", str(runs["s4rec"]), str(runs["iclrec"]), "--labels", "one",
                 "--out", str(tmp_path / "q")]) == 2
    assert "1 labels for 2 runs" in capsys.readouterr().err and not (tmp_path / "q").exists()
