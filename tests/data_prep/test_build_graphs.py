"""data_prep.build_graphs on tiny datasets: files, round trip, provenance, statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from data_prep.build_graphs import build_all_graphs, default_output_dir, main
from graphrec.data.dataset import SequenceDataset
from graphrec.data.synthetic import generate_synthetic
from graphrec.graph.category import category_graph
from graphrec.graph.io import load_graph
from graphrec.graph.normalize import normalized_category_graph
from graphrec.graph.transition import item_transition_graph
from graphrec.outputs import OutputError, read_marker


@pytest.fixture()
def prepared(tmp_path: Path) -> Path:
    ds = generate_synthetic(num_users=60, num_items=40, num_categories=6, num_intents=3,
                            categories_per_intent=2, seed=3)
    return ds.save(tmp_path / "tiny")


def _assert_same(a: object, b: object) -> None:
    for key in ("edge_index", "edge_weight"):
        assert torch.equal(getattr(a, key), getattr(b, key)), key


def test_round_trip_identical_tensors(prepared: Path) -> None:
    record = build_all_graphs(prepared)
    out = prepared / "graphs"
    assert Path(record["out_dir"]) == out
    ds = SequenceDataset.load(prepared)
    raw = category_graph(ds)
    _assert_same(load_graph(out / "category_graph.pt"), raw)
    eq1 = load_graph(out / "category_graph_eq1.pt")
    _assert_same(eq1, normalized_category_graph(raw))
    assert torch.equal(eq1.raw_weight, raw.edge_weight) and eq1.normalization == "hpcl4sr_eq1"
    trans = load_graph(out / "item_transition.pt")
    expected = item_transition_graph(ds)
    _assert_same(trans, expected)
    assert torch.equal(trans.edge_count, expected.edge_count)
    # loading twice gives the same tensors (the files are plain tensor dicts)
    _assert_same(load_graph(out / "item_transition.pt"), trans)


def test_training_interactions_only_and_provenance(prepared: Path) -> None:
    build_all_graphs(prepared)
    out = prepared / "graphs"
    ds = SequenceDataset.load(prepared)
    lengths = np.diff(ds.indptr)
    train_lengths = np.where(lengths >= 3, lengths - 2, lengths)  # loo: s[:-2]
    manifest = json.loads((out / "graphs.json").read_text())
    assert manifest["protocol"] == "loo" and manifest["checksum"] == ds.checksum()
    assert manifest["train_interactions"] == int(train_lengths.sum())
    assert manifest["files"]["stats"] == "graph_stats.json"
    assert load_graph(out / "category_graph.pt").protocol == "loo"
    stats = json.loads((out / "graph_stats.json").read_text())
    assert stats["protocol"] == "loo" and stats["checksum"] == ds.checksum()
    # every consecutive training pair is one transition
    assert stats["item_transition_graph"]["num_transitions"] == int((train_lengths - 1).sum())
    assert stats["category_graph"]["num_nodes"] == 6
    assert "degree_values" not in stats["category_graph"]


def test_protocol_all_uses_every_interaction(prepared: Path, tmp_path: Path) -> None:
    record = build_all_graphs(prepared, tmp_path / "all", protocol="all", stats=False)
    ds = SequenceDataset.load(prepared)
    assert record["protocol"] == "all" and record["train_interactions"] == ds.num_interactions
    assert not (tmp_path / "all" / "graph_stats.json").exists()
    loo = Path(build_all_graphs(prepared, stats=False)["out_dir"])
    every = load_graph(tmp_path / "all" / "item_transition.pt").edge_count.sum()
    lengths = np.diff(ds.indptr)
    assert int(every) == int((lengths - 1).sum())  # all consecutive pairs, held-out ones included
    assert every > load_graph(loo / "item_transition.pt").edge_count.sum()


def test_dataset_without_categories(tmp_path: Path) -> None:
    ds = SequenceDataset.from_sequences([[1, 2, 3, 1], [2, 3, 4], [4, 1]], num_items=4)
    record = build_all_graphs(ds, tmp_path / "g")
    assert sorted(record["files"]) == ["item_transition", "stats"]
    stats = json.loads((tmp_path / "g" / "graph_stats.json").read_text())
    assert stats["category_graph"].startswith("skipped")
    # training rows [1, 2], [2], [4, 1] -> transitions 1->2 and 4->1
    assert stats["item_transition_graph"]["num_transitions"] == 2


def test_output_dir_required_for_non_prepared(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="--out is required"):
        default_output_dir("synthetic")
    with pytest.raises(SystemExit) as exc:
        main(["--data", "synthetic"])
    assert exc.value.code == 2 and "--out is required" in capsys.readouterr().err


def test_cli(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(prepared), "--out", str(tmp_path / "cli"), "--hops", "2"]) == 0
    assert "protocol loo" in capsys.readouterr().out
    assert (tmp_path / "cli" / "category_graph_eq1.pt").is_file()


def test_output_folder_rules(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Graphs go only into a new or empty folder, or one graphrec made for graphs (with --overwrite)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("notes")
    with pytest.raises(OutputError, match="not made by graphrec"):
        build_all_graphs(prepared, mine, overwrite=True)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    with pytest.raises(OutputError, match="holds the input"):
        build_all_graphs(prepared, prepared, overwrite=True)  # the dataset folder itself
    other = SequenceDataset.load(prepared).save(tmp_path / "other")
    with pytest.raises(OutputError, match="is a graphrec dataset folder, not a graphs folder"):
        build_all_graphs(prepared, other, overwrite=True)  # another dataset
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit):
        main(["--data", str(prepared), "--out", str(tmp_path / "file"), "--no-stats"])
    assert "is a file" in capsys.readouterr().err and (tmp_path / "file").read_text() == "x"
    out = tmp_path / "g"
    build_all_graphs(prepared, out, stats=False)
    assert read_marker(out) == {"kind": "graphs", "made_by": "graphrec"}
    with pytest.raises(OutputError, match="already holds a graphs"):
        build_all_graphs(prepared, out, stats=False)
    (out / "stale.pt").write_bytes(b"")
    build_all_graphs(prepared, out, stats=False, overwrite=True)
    assert not (out / "stale.pt").exists() and (out / "item_transition.pt").is_file()
