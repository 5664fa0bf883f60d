"""Paired comparison of runs: the bootstrap on values with known answers, and `graphrec compare`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphrec.cli import main
from graphrec.eval.ranks import metric_values
from graphrec.experiment.compare import (
    RunRanks,
    bootstrap_means,
    check_same_users,
    compare_runs,
    format_table,
    load_run_ranks,
    normal_interval,
    paired_bootstrap,
)

TINY = ["data_options.num_users=60", "data_options.num_items=40", "data_options.num_categories=9",
        "data_options.num_intents=3", "data_options.mean_length=6", "train.batch_size=32",
        "model.hidden_size=8", "model.num_layers=1"]


def _run(ranks: list[int] | np.ndarray, users: np.ndarray | None = None, checksum: str = "c", name: str = "r",
         model: str = "m") -> RunRanks:
    values = np.asarray(ranks, dtype=np.int64)
    ids = np.arange(len(values)) if users is None else users
    return RunRanks(Path(name), ids, values, checksum, model, 0)


# ------------------------------------------------------------------ bootstrap
def test_identical_sides_give_zero_and_a_zero_interval() -> None:
    values = np.random.default_rng(0).random(300)
    assert paired_bootstrap(values, values, resamples=500, seed=3) == (0.0, 0.0, 0.0)


def test_a_constant_shift_is_exact_with_a_zero_width_interval() -> None:
    b = np.random.default_rng(1).random(257)
    mean_diff, lo, hi = paired_bootstrap(b + 0.25, b, resamples=400, seed=0)
    assert mean_diff == pytest.approx(0.25, abs=1e-12)
    assert lo == pytest.approx(0.25, abs=1e-12) and hi == pytest.approx(0.25, abs=1e-12)
    # ranks 1 against ranks 11: every user differs by exactly 1 in HR@10 and NDCG@10
    a_ranks, b_ranks = np.ones(100, dtype=np.int64), np.full(100, 11)
    for metric in ("HR@10", "NDCG@10"):
        a, b = metric_values(a_ranks, metric), metric_values(b_ranks, metric)
        assert paired_bootstrap(a, b, 300) == (1, 1, 1)
    mrr = paired_bootstrap(metric_values(a_ranks, "MRR"), metric_values(b_ranks, "MRR"), 300)
    assert mrr[0] == pytest.approx(10 / 11, abs=1e-12)
    assert mrr[1] == mrr[2] == pytest.approx(10 / 11, abs=1e-12)


def test_two_point_differences_match_the_normal_approximation() -> None:
    # d_u in {0, 1} with 30 % ones: the bootstrap mean is Binomial(U, 0.3) / U, close to normal
    num_users, ones = 2000, 600
    d = np.zeros(num_users)
    d[:ones] = 1.0
    mean_diff, lo, hi = paired_bootstrap(d, np.zeros(num_users), resamples=20000, seed=0)
    assert mean_diff == pytest.approx(0.3)
    n_lo, n_hi = normal_interval(d)
    half = 1.959964 * np.sqrt(0.3 * 0.7 / num_users)
    assert (n_lo, n_hi) == pytest.approx((0.3 - half, 0.3 + half), abs=1e-6)
    assert lo == pytest.approx(n_lo, abs=0.08 * half) and hi == pytest.approx(n_hi, abs=0.08 * half)


def test_seeded_and_shared_across_metrics() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.random(123), rng.random(123)
    assert paired_bootstrap(a, b, 700, seed=11) == paired_bootstrap(a, b, 700, seed=11)
    assert paired_bootstrap(a, b, 700, seed=11) != paired_bootstrap(a, b, 700, seed=12)
    both = bootstrap_means(np.stack([a - b, b - a]), 700, seed=11)  # (2, R): one set of samples
    np.testing.assert_array_equal(both[0], bootstrap_means(a - b, 700, seed=11))
    np.testing.assert_allclose(both[1], -both[0], atol=1e-12)


def test_chunks_are_vectorised_and_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    import graphrec.experiment.compare as compare

    monkeypatch.setattr(compare, "CHUNK_ENTRIES", 50)  # 5 samples of 10 users per chunk
    means = compare.bootstrap_means(np.arange(10.0), resamples=23, seed=0)
    assert means.shape == (23,) and np.all((means >= 0) & (means <= 9)) and len(set(means.tolist())) > 1


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="resamples"):
        paired_bootstrap(np.zeros(3), np.zeros(3), resamples=0)
    with pytest.raises(ValueError, match="U > 0"):
        bootstrap_means(np.zeros(0))


# ----------------------------------------------------------------- run sets
def test_compare_runs_averages_seeds_per_user() -> None:
    a1, a2 = _run([1, 1, 30, 2], name="a1"), _run([3, 1, 30, 2], name="a2")
    b = _run([1, 30, 30, 2], name="b")
    report = compare_runs([a1, a2], [b], ["HR@1", "MRR"], resamples=200)
    hr = report["metrics"]["HR@1"]
    # per user a = (0.5, 1, 0, 0), b = (1, 0, 0, 0)
    assert hr["mean_a"] == pytest.approx(1.5 / 4) and hr["mean_b"] == pytest.approx(0.25)
    assert hr["diff"] == pytest.approx(0.5 / 4)
    assert hr["ci_low"] <= hr["diff"] <= hr["ci_high"]
    assert report["num_users"] == 4 and [r["run"] for r in report["runs_a"]] == ["a1", "a2"]
    table = format_table(report)
    assert "HR@1" in table and "MRR" in table and "excludes 0" in table


def test_runs_on_other_users_or_data_are_refused_by_name() -> None:
    base = _run([1, 2, 3], name="base")
    with pytest.raises(ValueError, match="other data.*elsewhere"):
        check_same_users([base, _run([1, 2, 3], checksum="x", name="elsewhere")])
    with pytest.raises(ValueError, match="other users.*shifted"):
        check_same_users([base, _run([1, 2, 3], users=np.array([0, 1, 5]), name="shifted")])
    with pytest.raises(ValueError, match="other users.*short"):
        compare_runs([base], [_run([1, 2], name="short")])


def test_a_result_without_ranks_is_refused(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(json.dumps({"protocol": "loo", "model": "x"}))
    with pytest.raises(ValueError, match="no per-user ranks"):
        load_run_ranks(tmp_path)
    (tmp_path / "result.json").write_text(json.dumps({"protocol": "user", "model": "x"}))
    with pytest.raises(ValueError, match="without per-user metric values"):
        load_run_ranks(tmp_path)
    with pytest.raises(FileNotFoundError, match="no result.json"):
        load_run_ranks(tmp_path / "missing")


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    made = {}
    for name, extra in (("sas1", ["--seed", "1"]), ("sas2", ["--seed", "2"]),
                        ("gru", ["--model", "gru4rec", "--seed", "1"]),
                        ("other", ["--seed", "1", "data_options.seed=7"]),
                        ("sa_user", ["--model", "comirec_sa", "--protocol", "user", "--seed", "1"]),
                        ("sas_user", ["--protocol", "user", "--seed", "1"])):
        flags = [e for e in extra if "=" not in e]
        overrides = [e for e in extra if "=" in e]
        out = root / name
        tiny = [o for o in TINY if not (name == "sa_user" and o.startswith("model.num_layers"))]
        assert main(["train", "--out", str(out), "--epochs", "1", "--data", "synthetic", "--no-progress",
                     *flags, *tiny, *overrides]) == 0
        made[name] = out
    return made


def test_compare_command(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    out = tmp_path / "cmp.json"
    argv = ["compare", "--a", str(runs["sas1"]), str(runs["sas2"]), "--b", str(runs["gru"]),
            "--metrics", "NDCG@10", "HR@10", "MRR", "--resamples", "300", "--json", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "NDCG@10" in printed and "sasrec (2 runs)" in printed and "gru4rec (1 runs)" in printed
    report = json.loads(out.read_text())
    assert report["variant"] == "unmasked" and list(report["metrics"]) == ["NDCG@10", "HR@10", "MRR"]
    # the means of each side are the runs' own test metrics, averaged over its runs
    results = {name: json.loads((runs[name] / "result.json").read_text()) for name in ("sas1", "sas2", "gru")}
    for metric, row in report["metrics"].items():
        own_a = np.mean([results[n]["metrics"]["test_unmasked"][metric] for n in ("sas1", "sas2")])
        assert row["mean_a"] == pytest.approx(own_a, rel=1e-9)
        assert row["mean_b"] == pytest.approx(results["gru"]["metrics"]["test_unmasked"][metric], rel=1e-9)
        assert row["ci_low"] <= row["diff"] <= row["ci_high"]
    assert main(argv[:-2]) == 0  # deterministic: same seed, same table
    again = capsys.readouterr().out
    assert main(argv[:-2]) == 0 and capsys.readouterr().out == again
    assert main(["compare", "--a", str(runs["sas1"]), "--b", str(runs["sas1"]), "--variant", "masked"]) == 2
    assert "given twice" in capsys.readouterr().err  # one run on both sides is no comparison


def _copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


def _drop_checksums(run: Path) -> None:
    result = json.loads((run / "result.json").read_text())
    for key in ("ranks", "per_user"):
        if isinstance(result.get(key), dict):
            result[key].pop("sha256", None)
    (run / "result.json").write_text(json.dumps(result))


def test_compare_verifies_the_per_user_files_against_the_record(runs: dict[str, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    result = json.loads((runs["sas1"] / "result.json").read_text())
    ones = _copy_run(runs["sas1"], tmp_path / "ones")  # every rank set to 1: HR@10 would read 1.0
    path = ones / result["ranks"]["test_unmasked"]
    np.save(path, np.ones_like(np.load(path)))
    assert main(["compare", "--a", str(ones), "--b", str(runs["gru"])]) == 2
    err = capsys.readouterr().err
    assert "checksum differs" in err and str(path) in err
    # a run written before checksums were kept: its files are still checked against its metrics
    _drop_checksums(ones)
    assert main(["compare", "--a", str(ones), "--b", str(runs["gru"])]) == 2
    err = capsys.readouterr().err
    assert "does not belong to this run" in err and str(path) in err
    huge = _copy_run(runs["sas1"], tmp_path / "huge")
    _drop_checksums(huge)
    path = huge / result["ranks"]["test_unmasked"]
    ranks = np.load(path)
    ranks[0] = 10**6
    np.save(path, ranks)
    assert main(["compare", "--a", str(huge), "--b", str(runs["gru"])]) == 2
    assert "ranks must lie in 1.." in capsys.readouterr().err
    user = json.loads((runs["sa_user"] / "result.json").read_text())
    nan = _copy_run(runs["sa_user"], tmp_path / "nan")
    _drop_checksums(nan)
    path = nan / user["per_user"]["test_unmasked"]
    values = np.load(path)
    values[0, 0] = np.nan
    np.save(path, values)
    assert main(["compare", "--a", str(nan), "--b", str(runs["sas_user"])]) == 2
    assert "not finite" in capsys.readouterr().err
    assert main(["compare", "--a", str(runs["sas1"]), "--b", str(runs["gru"]), "--resamples", "1"]) == 2
    assert "at least 200 resamples" in capsys.readouterr().err


def test_compare_refuses_runs_on_other_data(runs: dict[str, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["compare", "--a", str(runs["sas1"]), "--b", str(runs["other"])]) == 2
    err = capsys.readouterr().err
    assert "other data" in err and str(runs["other"]) in err and "Traceback" not in err
    assert main(["compare", "--a", str(runs["sas1"]), "--b", str(runs["gru"]), "--metrics", "Recall@5"]) == 2
    assert "unknown metric" in capsys.readouterr().err


def test_compare_user_split_runs_on_per_user_values(runs: dict[str, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    result = json.loads((runs["sa_user"] / "result.json").read_text())
    names = result["per_user"]["metrics"]
    assert "Recall@20" in names and "NDCG_comirec@50" in names
    out = tmp_path / "user.json"
    assert main(["compare", "--a", str(runs["sa_user"]), "--b", str(runs["sas_user"]), "--resamples", "300",
                 "--json", str(out)]) == 0
    assert "Recall@20" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert "NDCG_comirec@20" not in report["metrics"]  # not compared unless named
    other = json.loads((runs["sas_user"] / "result.json").read_text())
    for metric, row in report["metrics"].items():  # each side's mean is its run's own test metric
        assert row["mean_a"] == pytest.approx(result["metrics"]["test_unmasked"][metric], rel=1e-9)
        assert row["mean_b"] == pytest.approx(other["metrics"]["test_unmasked"][metric], rel=1e-9)
    masked = load_run_ranks(runs["sa_user"], "masked")
    assert masked.protocol == "user" and masked.ranks is None
    assert masked.metric_values("Recall@50").mean() == pytest.approx(
        result["metrics"]["test_masked"]["Recall@50"], rel=1e-9)
    with pytest.raises(ValueError, match="not 'HR@5'"):
        masked.metric_values("HR@5")
    # a leave-one-out run is not paired with a user-split run
    assert main(["compare", "--a", str(runs["sas1"]), "--b", str(runs["sas_user"])]) == 2
    assert "another protocol" in capsys.readouterr().err


def test_per_user_values_added_to_an_older_run_equal_the_trainers(runs: dict[str, Path], tmp_path: Path,
                                                                  load_benchmark: Any) -> None:
    add_per_user = load_benchmark("add_per_user")
    run = tmp_path / "old"
    shutil.copytree(runs["sa_user"], run)
    result = json.loads((run / "result.json").read_text())
    files = result.pop("per_user")
    kept = {key: np.load(run / files[key]) for key in ("users", "test_masked", "test_unmasked")}
    for key in kept:
        (run / files[key]).unlink()
    (run / "result.json").write_text(json.dumps(result))  # as a run trained before the values were kept
    with pytest.raises(ValueError, match="without per-user metric values"):
        load_run_ranks(run)
    assert add_per_user.main([str(run)]) == 0
    again = json.loads((run / "result.json").read_text())["per_user"]
    assert again["metrics"] == files["metrics"] and "add_per_user" in again["source"]
    for key, array in kept.items():  # the same weights on the same users: the same values
        assert np.array_equal(np.load(run / again[key]), array)
    assert "already holds" in add_per_user.add_per_user(run)
    recorded = json.loads((run / "result.json").read_text())
    recorded["metrics"]["test_masked"]["Recall@20"] += 0.01  # a record that disagrees is left alone
    del recorded["per_user"]
    (run / "result.json").write_text(json.dumps(recorded))
    with pytest.raises(ValueError, match="disagree"):
        add_per_user.add_per_user(run)
    assert "per_user" not in json.loads((run / "result.json").read_text())
    assert add_per_user.main([str(runs["sas1"])]) == 1  # a leave-one-out run is refused
