"""Interest similarity (HPCL4SR Fig. 1) and the case study: closed forms, and the CLI on tiny runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.analysis.interests import (
    case_study,
    pairwise_cosines,
    sample_eval_users,
    similarity_histogram,
    user_interests,
)
from graphrec.cli import main
from graphrec.experiment.runs import load_run
from graphrec.outputs import read_marker

TINY = ["data_options.num_users=60", "data_options.num_items=40", "data_options.num_categories=9",
        "data_options.num_intents=3", "data_options.mean_length=8", "train.batch_size=32", "train.max_len=10",
        "model.hidden_size=8", "model.num_negatives=16", "protocol_options.ns=[5, 20]"]


def test_pairwise_cosines_closed_form() -> None:
    interests = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]])
    cos = pairwise_cosines(interests)
    # pairs (0, 1), (0, 2), (1, 2)
    assert cos.shape == (1, 3)
    assert cos[0].tolist() == pytest.approx([0.0, 1 / math.sqrt(2), 1 / math.sqrt(2)])
    assert torch.allclose(pairwise_cosines(torch.ones(2, 4, 3)), torch.ones(2, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="K >= 2"):
        pairwise_cosines(torch.ones(2, 1, 3))


def test_similarity_histogram_is_in_percent() -> None:
    edges, percent = similarity_histogram(np.array([-1.0, -0.2, 0.1, 0.9, 1.0]), bins=4)
    assert edges.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert percent.tolist() == [20.0, 20.0, 20.0, 40.0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("interests")
    made = {}
    for name in ("hpcl4sr", "comirec_sa", "sasrec"):
        out = root / name
        options = [o for o in TINY if name != "sasrec" or "num_negatives" not in o]
        assert main(["train", "--out", str(out), "--epochs", "1", "--data", "synthetic", "--no-progress",
                     "--protocol", "user", "--model", name, *options]) == 0
        made[name] = out
    return made


def test_runs_report_both_ndcgs(runs: dict[str, Path]) -> None:
    result = json.loads((runs["hpcl4sr"] / "result.json").read_text())
    test = result["metrics"]["test"]
    for n in (5, 20):
        assert {f"Recall@{n}", f"NDCG@{n}", f"NDCG_comirec@{n}"} <= set(test)
        assert 0.0 <= test[f"NDCG_comirec@{n}"] <= test[f"HR@{n}"] + 1e-12  # zero for users without a hit


def test_analyze_interests_writes_plot_and_numbers(runs: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plots"
    assert main(["analyze", "interests", str(runs["hpcl4sr"]), str(runs["comirec_sa"]), "--out", str(out),
                 "--bins", "10"]) == 0
    assert "pair similarity mean" in capsys.readouterr().out
    assert (out / "interest_similarity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert read_marker(out) == {"kind": "plots", "made_by": "graphrec"}
    report = json.loads((out / "interest_similarity.json").read_text())
    assert [r["label"] for r in report["runs"]] == ["hpcl4sr", "comirec_sa"]
    for entry, name in zip(report["runs"], ("hpcl4sr", "comirec_sa"), strict=True):
        run = load_run(runs[name])
        assert entry["num_interests"] == 4 and entry["num_users"] == run.split.num_eval_rows("test")
        assert sum(entry["pairs"]["percent"]) == pytest.approx(100.0)
        cos = pairwise_cosines(user_interests(run.model, run.split, "test")).numpy()
        assert entry["pairs"]["summary"]["mean"] == pytest.approx(float(cos.mean()), abs=1e-9)
        per_user = float(cos.mean(axis=1).mean())
        assert entry["user_mean"]["summary"]["mean"] == pytest.approx(per_user, abs=1e-9)
    # a sample of users, and a single-interest model is refused
    sample = tmp_path / "sample"
    assert main(["analyze", "interests", str(runs["hpcl4sr"]), "--num-users", "3", "--out", str(sample)]) == 0
    assert json.loads((sample / "interest_similarity.json").read_text())["runs"][0]["num_users"] == 3
    assert main(["analyze", "interests", str(runs["sasrec"]), "--out", str(tmp_path / "single")]) == 2
    assert not (tmp_path / "single").exists()  # nothing is claimed when the analysis fails
    assert main(["analyze", "interests", str(runs["hpcl4sr"]), "--out", str(out)]) == 2  # needs --overwrite


def test_case_study(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = load_run(runs["hpcl4sr"])
    part = run.split.eval_set("test")
    users = [str(int(u)) for u in part.users[:2]]
    cases = case_study(run, users, top=5)
    assert [c["user"] for c in cases] == users
    for case, row in zip(cases, range(2), strict=True):
        assert len(case["interests"]) == 4 and all(len(items) == 5 for items in case["interests"])
        targets = part.target_items[part.target_indptr[row]:part.target_indptr[row + 1]]
        assert [t["item"] for t in case["targets"]] == [str(int(t)) for t in targets]
        merged = {e["item"] for e in case["merged"]}
        assert all(t["hit"] == (t["item"] in merged) for t in case["targets"])
        history = run.dataset.items[part.history_start[row]:part.history_end[row]]
        assert [h["item"] for h in case["history"]] == [str(int(i)) for i in history]
        names = run.dataset.category_names
        for h in case["history"]:
            category = int(run.dataset.item_category[int(h["item"])])
            assert h["category"] == (names[category - 1] if names else str(category))
        # the merged list is the per-interest lists merged by score
        pooled = sorted((e for items in case["interests"] for e in items), key=lambda e: -e["score"])
        best: list[str] = []
        for entry in pooled:
            if entry["item"] not in best:
                best.append(entry["item"])
        assert [e["item"] for e in case["merged"]] == best[:5]
    out = tmp_path / "case.json"
    assert main(["analyze", "case-study", str(runs["hpcl4sr"]), "--users", *users, "--top", "5",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"user {users[0]}:" in text and "interest 3:" in text and "targets (" in text
    assert json.loads(out.read_text())[0]["user"] == users[0]
    drawn = sample_eval_users(run, 2, seed=3)
    assert drawn == sample_eval_users(run, 2, seed=3) and len(set(drawn)) == 2
    assert set(drawn) <= {str(int(u)) for u in part.users}
    assert sample_eval_users(run, len(part.users) + 5) == [str(int(u)) for u in part.users]
    assert main(["analyze", "case-study", str(runs["hpcl4sr"]), "--random", "2", "--seed", "3",
                 "--top", "5"]) == 0
    shown = capsys.readouterr().out
    assert all(f"user {u}:" in shown for u in drawn)
    train_user = str(int(run.split.train_users[0]))
    assert main(["analyze", "case-study", str(runs["hpcl4sr"]), "--users", train_user]) == 2
    assert "not test users" in capsys.readouterr().err
