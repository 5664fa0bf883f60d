"""Bad input of every kind ends in one line naming the file or option and the problem."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from cli_runs import TINY, fails

from graphrec.cli import main
from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.train.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "r"
    argv = ["train", "--out", str(out), "--epochs", "1", "--data", "synthetic", "--no-progress", *TINY]
    assert main(argv) == 0
    return out


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    config = tmp_path / "bomb.yaml"
    config.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    fails(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "o")], str(config), "aliases")
    assert time.perf_counter() - start < 10


def test_a_config_that_is_not_utf8_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "latin1.yaml"
    config.write_bytes(b"data: synthetic\nmodel: \xff\xfe\n")
    fails(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "o")], str(config), "UTF-8")


@pytest.mark.parametrize("argv,needle", [
    (["train", "--seed", "99999999999999999999"], "--seed"),
    (["train", "--epochs", "-1"], "--epochs"),
    (["analyze", "interests", "RUN", "--bins", "100000000", "--out", "x"], "--bins"),
    (["analyze", "head-rate", "RUN", "--batch-size", "0", "--out", "x"], "--batch-size"),
    (["compare", "--a", "A", "--b", "B", "--resamples", "0"], "--resamples"),
    (["recommend", "RUN", "--users", "1", "--top", "0"], "--top"),
])
def test_numbers_are_range_checked_where_they_are_read(argv: list[str], needle: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "outside" in err and "Traceback" not in err


def test_a_seed_out_of_range_in_a_config_is_one_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, ["train", "--data", "synthetic", "--out", str(tmp_path / "o"), "train.seed=-1"], "seed")


def test_a_device_graphrec_does_not_run_on_is_one_line(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, ["evaluate", str(run), "--device", "mps"], "mps", "cpu or cuda")


def test_a_json_file_given_as_a_checkpoint_gives_no_unsafe_advice(tmp_path: Path) -> None:
    path = tmp_path / "best.pt"
    path.write_text(json.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a readable graphrec checkpoint") as info:
        load_checkpoint(path)
    assert "weights_only" not in str(info.value) and str(path) in str(info.value)


def test_names_json_that_lists_too_few_names_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "clicks.csv"
    rows = [f"u{u},i{(u * 7 + t) % 9},{t}" for u in range(5) for t in range(4)]
    table.write_text("user,item,timestamp\n" + "\n".join(rows) + "\n")
    data = tmp_path / "d"
    assert main(["prepare", "table", "--input", str(table), "--out", str(data)]) == 0
    names = json.loads((data / "names.json").read_text())
    names["user_names"] = names["user_names"][:-1]
    (data / "names.json").write_text(json.dumps(names))
    with pytest.raises(DataFormatError, match="names.json.*lists 4 user names for 5"):
        SequenceDataset.load(data)


def test_sequences_file_lines_keep_their_numbers_and_an_empty_sequence_is_refused(
        run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sequences = tmp_path / "seqs.txt"
    sequences.write_text("1 2 3\n\n4 5\n")
    recommend = ["recommend", str(run), "--sequences-file", str(sequences)]
    assert main([*recommend, "--top", "2", "--format", "json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"line1", "line3"}
    sequences.write_text("1 2 3\n,,,\n")
    fails(capsys, recommend, f"{sequences}, line 2", "no item")
    sequences.write_bytes(b"1 2 \xff\n")
    fails(capsys, recommend, str(sequences), "UTF-8")


def test_a_run_copied_without_its_checkpoint_names_the_file(run: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "checkpoints" / "best.pt").write_text("{}")
    fails(capsys, ["evaluate", str(copy)], "best.pt", "not a readable graphrec checkpoint")


def test_a_text_file_or_a_pickle_given_as_ranks_names_the_file_without_unsafe_advice(tmp_path: Path) -> None:
    import numpy as np

    from graphrec.eval.ranks import load_ranks

    text = tmp_path / "ranks_test_masked.npy"
    text.write_text("1 2 3\n")
    with pytest.raises(ValueError, match="not a readable .npy array") as info:
        load_ranks(text)
    pickled = tmp_path / "ranks_object.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a readable .npy array") as info2:
        load_ranks(pickled)
    for message in (str(info.value), str(info2.value)):
        assert "allow_pickle" not in message


def test_compare_refuses_a_per_user_file_changed_after_the_run(run: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    result = json.loads((run / "result.json").read_text())
    assert set(result["ranks"]["sha256"]) >= {"ranks_users.npy", "ranks_test_masked.npy"}
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    ranks = np.load(copy / "ranks_test_masked.npy")
    np.save(copy / "ranks_test_masked.npy", ranks.astype(np.int64))  # same values, other bytes
    fails(capsys, ["compare", "--a", str(copy), "--b", str(run), "--variant", "masked"],
           "ranks_test_masked.npy", "checksum")


@pytest.mark.parametrize("text,needle", [("[]", "JSON list"), ('{"protocol": "lo', "not valid JSON")])
def test_compare_names_a_result_json_that_is_not_a_result(run: Path, tmp_path: Path, text: str, needle: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "result.json").write_text(text)
    fails(capsys, ["compare", "--a", str(copy), "--b", str(run)], "result.json", needle)


@pytest.mark.parametrize("override,needle", [
    ("data_options.num_users=abc", "data_options.num_users"),
    ("model.hidden_size=100000000000000000000000000", "model.hidden_size"),
])
def test_options_of_the_wrong_kind_or_size_are_one_line(override: str, needle: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, ["train", "--data", "synthetic", "--out", str(tmp_path / "o"), override], needle)


def test_resume_accepts_an_option_given_at_its_default(tmp_path: Path) -> None:
    out = tmp_path / "r"
    base = ["train", "--model", "s4rec", "--out", str(out), "--data", "synthetic", "--no-progress", *TINY]
    assert main([*base, "--epochs", "1"]) == 0
    (out / "result.json").unlink()  # as if interrupted after the epoch
    assert main([*base, "--epochs", "2", "--resume", "model.variant=full"]) == 0


def test_a_best_checkpoint_copied_over_last_is_named_on_resume(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    base = ["train", "--out", str(out), "--data", "synthetic", "--no-progress", *TINY]
    assert main([*base, "--epochs", "1"]) == 0
    (out / "result.json").unlink()
    shutil.copy(out / "checkpoints" / "best.pt", out / "checkpoints" / "last.pt")
    fails(capsys, [*base, "--epochs", "2", "--resume"], "last.pt", "best.pt copied over it")


@pytest.mark.parametrize("override", ["train.lr=1e300", "train.lr=inf", "train.weight_decay=nan"])
def test_learning_rates_out_of_range_are_one_line(override: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    fails(capsys, ["train", "--data", "synthetic", "--out", str(tmp_path / "o"), override],
           override.split("=")[0].split(".")[1])
    assert not (tmp_path / "o").exists()
