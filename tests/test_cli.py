"""The command line end to end on a tiny synthetic dataset: train, evaluate, recommend, models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphrec.cli import main

TINY = ["data_options.num_users=200", "data_options.num_items=120", "data_options.num_categories=12",
        "data_options.num_intents=4", "train.batch_size=64", "model.hidden_size=16", "model.num_layers=1"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--out", str(out), "--epochs", "2", "--no-progress", *TINY])
    assert code == 0
    return out


def test_train_writes_result_with_both_test_variants(run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    result = json.loads((run_dir / "result.json").read_text())
    assert result["model"] == "sasrec" and result["protocol"] == "loo"
    assert result["epochs_run"] == 2
    for key in ("test_masked", "test_unmasked"):
        metrics = result["metrics"][key]
        assert 0.0 <= metrics["HR@5"] <= metrics["HR@10"] <= metrics["HR@20"] <= 1.0
        assert metrics["num_users"] == 200
    assert (run_dir / "checkpoints" / "best.pt").is_file()


def test_evaluate_reproduces_the_recorded_test_metrics(run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--split", "test"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    recorded = json.loads((run_dir / "result.json").read_text())["metrics"]["test_unmasked"]
    for key in ("HR@10", "NDCG@10", "MRR"):
        assert metrics[key] == pytest.approx(recorded[key], abs=1e-9)


def test_evaluate_beyond_accuracy_reproduces_the_recorded_novelty(run_dir: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--split", "test", "--beyond-accuracy"]) == 0
    beyond = json.loads(capsys.readouterr().out)["beyond_accuracy"]
    recorded = json.loads((run_dir / "result.json").read_text())["metrics"]["test_unmasked_beyond"]
    assert set(beyond) == set(recorded) and "Novelty@20" in beyond
    for key, value in recorded.items():
        assert beyond[key] == pytest.approx(value, abs=1e-9)


def test_recommend_csv_excludes_seen_items(run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from graphrec.data.load import load_dataset

    capsys.readouterr()
    assert main(["recommend", str(run_dir), "--users", "0", "1", "--top", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "user,rank,item,score"
    rows = [line.split(",") for line in lines[1:]]
    assert [r[0] for r in rows] == ["0"] * 5 + ["1"] * 5
    assert [int(r[1]) for r in rows[:5]] == [1, 2, 3, 4, 5]
    scores = [float(r[3]) for r in rows[:5]]
    assert scores == sorted(scores, reverse=True)
    dataset = load_dataset("synthetic", num_users=200, num_items=120, num_categories=12, num_intents=4)
    seen = {dataset.item_names[i - 1] if dataset.item_names else str(i) for i in dataset.sequence(0)}
    assert not seen & {r[2] for r in rows[:5]}


def test_recommend_sequences_file_json(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sequences = tmp_path / "seqs.txt"
    sequences.write_text("1 2 3\n\n4 5\n")
    out = tmp_path / "recs.json"
    assert main(["recommend", str(run_dir), "--sequences-file", str(sequences), "--top", "3",
                 "--format", "json", "--out", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert list(payload) == ["line1", "line3"]  # labelled by the line each sequence was read from
    assert all(len(v) == 3 for v in payload.values())
    assert not {"1", "2", "3"} & {entry["item"] for entry in payload["line1"]}


def test_recommend_unknown_item_names_the_line(run_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    sequences = tmp_path / "bad.txt"
    sequences.write_text("1 2\n3 no-such-item\n")
    assert main(["recommend", str(run_dir), "--sequences-file", str(sequences)]) == 2
    err = capsys.readouterr().err
    assert "bad.txt, line 2" in err and "no-such-item" in err


def test_recommend_unknown_user(run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["recommend", str(run_dir), "--users", "999999"]) == 2
    assert "unknown user" in capsys.readouterr().err


def test_unknown_config_key_lists_valid_keys(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--out", str(tmp_path), "train.learning_rate=0.1"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate" in err and "'lr'" in err


def test_unknown_model_option_lists_valid_options(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--out", str(tmp_path), "--epochs", "1", "model.hidden=8", *TINY[:4]]) == 2
    err = capsys.readouterr().err
    assert "hidden" in err and "hidden_size" in err


def test_unknown_config_key_in_yaml(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("model: sasrec\ntrain:\n  epochz: 3\n")
    assert main(["train", "--config", str(config), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "epochz" in err and "epochs" in err


def test_models_lists_registered_models(capsys: pytest.CaptureFixture) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("pop", "gru4rec", "sasrec", "srgnn"):
        assert f"{name}:" in out
    assert "model.hidden_size = 64" in out


@pytest.mark.parametrize("command", ["prepare", "train", "evaluate", "recommend", "models", "graph"])
def test_every_command_has_help_with_examples(command: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_overrides_may_follow_options() -> None:
    """KEY=VALUE overrides on both sides of an option reach the run, in order; a stray word is an error."""
    from graphrec.cli import build_parser
    from graphrec.cli import main as cli_main

    parser = build_parser()
    args, extra = parser.parse_known_args(["train", "a.b=1", "--out", "x", "c.d=2"])
    assert args.overrides == ["a.b=1"] and extra == ["c.d=2"]  # argparse alone drops c.d=2
    with pytest.raises(SystemExit):
        cli_main(["train", "a.b=1", "--out", "x", "stray"])


def test_override_after_option_is_applied(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["train", "--out", str(tmp_path / "r"), "--no-progress", "no.such_key=1"])
    assert code == 2  # the late override was parsed and validated, not dropped
    assert "unknown key(s) in [experiment]: 'no'" in capsys.readouterr().err
