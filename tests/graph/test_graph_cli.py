"""graphrec graph build / stats / plot on a tiny dataset written to a temp dir."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.data.dataset import SequenceDataset
from graphrec.graph.category import category_graph
from graphrec.graph.cli import add_graph_commands
from graphrec.graph.io import load_graph
from graphrec.graph.transition import item_transition_graph

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="graphrec")
    add_graph_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture()
def prepared(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 21, size=rng.integers(3, 12)).tolist() for _ in range(60)]
    cats = np.concatenate([[0], (np.arange(20) % 6) + 1])
    ds = SequenceDataset.from_sequences(seqs, num_items=20, item_category=cats,
                                        category_names=[f"c{i}" for i in range(1, 7)])
    return ds.save(tmp_path / "tiny")


def test_build_round_trip(prepared: Path) -> None:
    assert _run(["graph", "build", "--data", str(prepared)]) == 0
    out = prepared / "graphs"
    record = json.loads((out / "graphs.json").read_text())
    assert record["protocol"] == "loo" and record["checksum"] == SequenceDataset.load(prepared).checksum()
    ds = SequenceDataset.load(prepared)
    raw, trans = load_graph(out / "category_graph.pt"), load_graph(out / "item_transition.pt")
    expected = category_graph(ds)
    assert torch.equal(raw.edge_index, expected.edge_index)
    assert torch.equal(raw.edge_weight, expected.edge_weight)
    assert raw.category_names == expected.category_names and raw.num_nodes == 6
    assert torch.equal(trans.edge_count, item_transition_graph(ds).edge_count)
    eq1 = load_graph(out / "category_graph_eq1.pt")
    assert torch.equal(eq1.raw_weight, raw.edge_weight) and eq1.normalization == "hpcl4sr_eq1"


def test_build_needs_out_for_raw_specs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--out is required"):
        _run(["graph", "build", "--data", "synthetic"])


def test_stats_and_plot(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    json_path = str(tmp_path / "s.json")
    assert _run(["graph", "stats", "--data", str(prepared), "--hops", "3", "--json", json_path]) == 0
    assert "category graph: 6 categories" in capsys.readouterr().out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["category_graph"]["diffusion"]["hops"] == [0, 1, 2, 3]
    assert _run(["graph", "plot", "--data", str(prepared), "--hops", "2", "--out", str(tmp_path / "p")]) == 0
    pngs = sorted(p.name for p in (tmp_path / "p").glob("*.png"))
    assert "popularity_bias.png" in pngs and len(pngs) == 6
    assert (tmp_path / "p" / "summary.json").is_file()


def test_dataset_without_categories(tmp_path: Path) -> None:
    ds = SequenceDataset.from_sequences([[1, 2, 3, 1]], num_items=3).save(tmp_path / "nocat")
    assert _run(["graph", "build", "--data", str(ds)]) == 0
    record = json.loads((ds / "graphs" / "graphs.json").read_text())
    assert "no item categories" in record["category_graph"]
    with pytest.raises(ValueError, match="no item categories"):
        _run(["graph", "stats", "--data", str(ds)])


def test_beauty_graph_is_built_from_training_interactions() -> None:
    path = DATA / "amazon-beauty"
    if not path.is_dir():
        pytest.skip("../shared/data/amazon-beauty is not present")
    from graphrec.data.load import load_dataset

    ds = load_dataset(path)
    g = category_graph(ds)
    assert g.num_nodes == 195
    # independent count: adjacent pairs of different categories inside every user's s[:-2]
    expected = 0
    for seq in ds.sequences():
        cats = ds.item_category[seq[:-2] if len(seq) >= 3 else seq]
        expected += int(((cats[1:] != cats[:-1]) & (cats[1:] > 0) & (cats[:-1] > 0)).sum())
    assert g.edge_weight.sum().item() == 2 * expected
