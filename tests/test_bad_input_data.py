"""Bad input through the command line: every reader and converter × every class of bad input.

Each probe writes a tiny good input in ``tmp_path``, spoils it in one way, and runs
``graphrec prepare <source>`` (or a command that loads a prepared dataset) with
``graphrec.cli.main`` / ``data_prep.build_graphs.main``. It must give **one clear
error**:

* a non-zero exit status;
* one message that names the file at fault (and the line or item key where the
  format has them);
* no traceback, and no RuntimeWarning (e.g. NumPy's "invalid value encountered in cast");
* no file outside the output folder changed, none added beside it;
* no earlier output lost: a good dataset already in ``--out`` is intact after a
  failed ``--overwrite`` re-prepare, and a folder ``--out`` must not touch is unchanged.

Classes of bad input: numbers out of range or not finite, attribute values that
are not integer ids, undecodable bytes, binary data, a truncated compressed file,
output paths graphrec must not write (a user's folder, the input's folder, a file,
a dataset of an older version, an earlier dataset without ``--overwrite``), and
damaged prepared datasets (truncated ``arrays.npz``, corrupt or missing ``meta.json``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from data_prep import build_graphs
from graphrec.cli import main
from graphrec.data.dataset import SequenceDataset

FIXTURES = Path(__file__).resolve().parent / "data_prep" / "fixtures"
DEAD_PID = 999_999_999  # above any pid_max: no such process


# ------------------------------------------------------------------ good inputs
@dataclass(frozen=True)
class Source:
    """A ``graphrec prepare`` source with a tiny good input.

    Args:
        name: the source's name on the command line.
        files: file name -> good content (written into ``<tmp>/in``).
        main_file: the file the bad-input probes spoil.
        options: command-line options; ``{in}`` stands for the input folder.
        spoil: bad-input class -> ``(line, good text, bad text, bad value)``: the
            text of that line is replaced; the error must name the line and the
            value. Only the classes that apply to the format.
    """

    name: str
    files: dict[str, str]
    main_file: str
    options: tuple[str, ...]
    spoil: dict[str, tuple[int, str, str, str]]

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for file, text in self.files.items():
            (folder / file).write_text(text)

    def argv(self, folder: Path, main_file: str | None = None) -> list[str]:
        swap = {"{main}": str(folder / (main_file or self.main_file)), "{in}": str(folder)}
        return ["prepare", self.name, *(swap.get(o, o) for o in self.options)]


TAFENG = (FIXTURES / "tafeng" / "ta_feng_all_months_merged.csv").read_text()
TAOBAO = (FIXTURES / "taobao" / "UserBehavior.csv").read_text()
REVIEWS = (FIXTURES / "amazon2018" / "All_Beauty.json").read_text()
REVIEW_3 = REVIEWS.splitlines()[2]

SOURCES = [
    Source("s3rec", {"Data.txt": "1 1 2 3\n2 2 3 4\n3 1 4\n",
                     "Data_item2attributes.json": '{"1": [1], "2": [2], "3": [3], "4": [4]}'},
           "Data.txt", ("--input", "{main}"),
           {"out of range": (2, "2 2 3 4", "2 2 99999999999999999999 4", "99999999999999999999"),
            "not finite": (2, "2 2 3 4", "2 2 inf 4", "inf")}),
    Source("recbole", {"data.inter": "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                                     "1\t10\t4\t100\n1\t11\t3\t101\n2\t10\t5\t102\n"},
           "data.inter", ("--input", "{main}"),
           {"out of range": (3, "1\t11\t3\t101", "1\t11\t3\t1e30", "1e30"),
            "not finite": (3, "1\t11\t3\t101", "1\t11\tinf\t101", "inf")}),
    Source("table", {"log.csv": "user,item,timestamp\na,x,1\na,y,2\nb,x,3\n"},
           "log.csv", ("--input", "{main}"),
           {"out of range": (3, "a,y,2", "a,y,1e30", "1e30"), "not finite": (3, "a,y,2", "a,y,inf", "inf")}),
    Source("table", {"log.tsv": "user\titem\ttimestamp\na\tx\t1\na\ty\t2\nb\tx\t3\n"},
           "log.tsv", ("--input", "{main}"),
           {"out of range": (3, "a\ty\t2", "a\ty\t-1e19", "-1e19"),
            "not finite": (3, "a\ty\t2", "a\ty\tnan", "nan")}),
    Source("tafeng", {"ta_feng_all_months_merged.csv": TAFENG},
           "ta_feng_all_months_merged.csv", ("--input", "{main}"),
           {"out of range": (3, TAFENG.splitlines()[2], "2/30/2001" + TAFENG.splitlines()[2][9:],
                             "2/30/2001")}),
    Source("taobao", {"UserBehavior.csv": TAOBAO}, "UserBehavior.csv", ("--input", "{main}"),
           {"out of range": (3, TAOBAO.splitlines()[2], "2,100,10,buy,99999999999999999999",
                             "99999999999999999999"),
            "not finite": (3, TAOBAO.splitlines()[2], "2,100,10,buy,inf", "inf")}),
    Source("movielens", {"ratings.csv": "userId,movieId,rating,timestamp\n1,296,5.0,1147880044\n"
                                        "1,306,3.5,1147868817\n2,296,4.0,1147868828\n"},
           "ratings.csv", ("--input", "{main}", "--movies", "none"),
           {"out of range": (3, "1,306,3.5,1147868817", "1,306,3.5,1e30", "1e30"),
            "not finite": (3, "1,306,3.5,1147868817", "1,306,inf,1147868817", "inf")}),
    Source("amazon", {"All_Beauty.json": REVIEWS}, "All_Beauty.json", ("--reviews", "{main}"),
           {"out of range": (3, REVIEW_3, REVIEW_3.replace("1470096000", "1e30"), "1e+30"),
            "not finite": (3, REVIEW_3, REVIEW_3.replace('"overall": 4.0', '"overall": NaN'),
                           "nan")}),
]
SOURCE_IDS = [f"{s.name}-{Path(s.main_file).suffix.lstrip('.')}" for s in SOURCES]


# ------------------------------------------------------------------ checking a probe
def _snapshot(root: Path, skip: Path | None = None) -> dict[str, str]:
    """relative path -> sha256 of every file (and folder) under ``root``, ``skip`` left out."""
    state = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        state[str(path.relative_to(root))] = (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir")
    return state


def _one_clear_error(run: Callable[[], int], capsys: pytest.CaptureFixture[str], names: list[str]) -> str:
    """Run a command line; it must fail with one message naming each of ``names``, no traceback."""
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = run()
        except SystemExit as exc:  # argparse's parser.error
            code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    assert code != 0, out + err
    assert "Traceback" not in out + err, err
    assert err.count("error:") == 1, err
    for name in names:
        assert name in err, f"{name!r} not in {err!r}"
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not runtime, runtime
    return err


def _prepare_good(source: Source, folder: Path, out: Path) -> str:
    """Prepare the good input into ``out``; returns the dataset's checksum."""
    assert main([*source.argv(folder), "--out", str(out)]) == 0
    return SequenceDataset.load(out).checksum()


def _probe_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: Source,
                 spoil: Callable[[Path], tuple[Path, list[str]]]) -> None:
    """Spoil the input; re-prepare over a good dataset with --overwrite: one clear error, nothing lost."""
    folder, out = tmp_path / "in", tmp_path / "out"
    source.write(folder)
    checksum = _prepare_good(source, folder, out)
    bad_file, names = spoil(folder)
    before = _snapshot(tmp_path, skip=out)
    dataset_files = _snapshot(out)
    main_file = None if bad_file.name in source.files else bad_file.name  # a new file: the .gz
    _one_clear_error(lambda: main([*source.argv(folder, main_file), "--out", str(out), "--overwrite"]),
                     capsys, [str(bad_file), *names])
    assert _snapshot(tmp_path, skip=out) == before  # nothing outside the output changed or was added
    assert _snapshot(out) == dataset_files and SequenceDataset.load(out).checksum() == checksum


# ------------------------------------------------------------------ 1. numbers
@pytest.mark.parametrize("kind", ["out of range", "not finite"])
@pytest.mark.parametrize("source", SOURCES, ids=SOURCE_IDS)
def test_numbers_out_of_range_or_not_finite(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            source: Source, kind: str) -> None:
    if kind not in source.spoil:
        pytest.skip(f"{source.name} reads no number that could be {kind}")
    line, good, bad, value = source.spoil[kind]

    def spoil(folder: Path) -> tuple[Path, list[str]]:
        path = folder / source.main_file
        text = path.read_text()
        assert good in text
        path.write_text(text.replace(good, bad, 1))
        return path, [f", line {line}:", value]

    _probe_input(tmp_path, capsys, source, spoil)


# ------------------------------------------------------------------ 2. attribute values
@pytest.mark.parametrize("value", ["null", "true", '"a"', "1.5", "[4, 5]", "{}"])
def test_s3rec_attribute_values(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    def spoil(folder: Path) -> tuple[Path, list[str]]:
        path = folder / "Data_item2attributes.json"
        path.write_text(f'{{"1": [1], "2": [2], "3": [3, {value}], "4": [4]}}')
        return path, ["item '3'", value]

    _probe_input(tmp_path, capsys, SOURCES[0], spoil)


# ------------------------------------------------------------------ 3. files that are not text
@pytest.mark.parametrize("source", SOURCES, ids=SOURCE_IDS)
def test_undecodable_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: Source) -> None:
    def spoil(folder: Path) -> tuple[Path, list[str]]:
        path = folder / source.main_file
        lines = path.read_bytes().split(b"\n")
        lines[2] = lines[2][:4] + b"\xff\xfe" + lines[2][4:]
        path.write_bytes(b"\n".join(lines))
        return path, [", line 3:", "not valid utf-8"]

    _probe_input(tmp_path, capsys, source, spoil)


@pytest.mark.parametrize("source", SOURCES, ids=SOURCE_IDS)
def test_binary_data(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: Source) -> None:
    def spoil(folder: Path) -> tuple[Path, list[str]]:
        path = folder / source.main_file
        lines = path.read_bytes().split(b"\n")
        lines[2] = b"\x00\x01\x02\x03" + lines[2]
        path.write_bytes(b"\n".join(lines))
        return path, [", line 3:", "binary data"]

    _probe_input(tmp_path, capsys, source, spoil)


@pytest.mark.parametrize("source", SOURCES, ids=SOURCE_IDS)
def test_truncated_gzip(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: Source) -> None:
    def spoil(folder: Path) -> tuple[Path, list[str]]:
        path = folder / source.main_file
        text = path.read_text()
        header, _, body = text.partition("\n") if source.name not in ("s3rec", "taobao") else ("", "", text)
        data = ((header + "\n") if header else "") + body * 400
        packed = folder / (source.main_file + ".gz")
        packed.write_bytes(gzip.compress(data.encode())[:-40])
        return packed, ["truncated"]

    _probe_input(tmp_path, capsys, source, spoil)


# ------------------------------------------------------------------ 4. output paths
OUTPUT_CASES = ["a user's folder", "the input's folder", "a regular file", "a path below a regular file",
                "an older version's dataset", "an earlier dataset without --overwrite"]


@pytest.mark.parametrize("case", OUTPUT_CASES)
@pytest.mark.parametrize("source", SOURCES, ids=SOURCE_IDS)
def test_output_graphrec_must_not_touch(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        source: Source, case: str) -> None:
    folder = tmp_path / "in"
    source.write(folder)
    out = tmp_path / "out"
    expected = "choose"
    if case == "a user's folder":
        out.mkdir()
        (out / "notes.txt").write_text("notes")
        expected = "not made by graphrec"
    elif case == "the input's folder":
        out = folder
        expected = "holds the input"
    elif case == "a regular file":
        out.write_text("a file\n")
        expected = "is a file"
    elif case == "a path below a regular file":
        (tmp_path / "notes").write_text("a file\n")
        out = tmp_path / "notes" / "out"
        expected = "notes is a file"
    elif case == "an older version's dataset":
        _prepare_good(source, folder, out)
        (out / ".graphrec").unlink()
        expected = "older graphrec"
    else:
        _prepare_good(source, folder, out)
        expected = "pass --overwrite"
    flags = ["--overwrite"] if case != "an earlier dataset without --overwrite" else []
    before = _snapshot(tmp_path)
    _one_clear_error(lambda: main([*source.argv(folder), "--out", str(out), *flags]), capsys,
                     [str(out), expected])
    assert _snapshot(tmp_path) == before  # the folder, the file, the input: all as they were


def test_overwrite_replaces_a_dataset_graphrec_made(tmp_path: Path) -> None:
    source = SOURCES[0]
    folder, out = tmp_path / "in", tmp_path / "out"
    source.write(folder)
    _prepare_good(source, folder, out)
    (folder / "Data.txt").write_text("1 1 2\n")
    assert main([*source.argv(folder), "--attributes", "none", "--out", str(out), "--overwrite"]) == 0
    assert SequenceDataset.load(out).num_interactions == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


def test_a_killed_prepare_leaves_nothing_for_long(tmp_path: Path) -> None:
    """A temporary folder of a prepare killed while saving is removed by the next prepare."""
    source = SOURCES[0]
    folder, out = tmp_path / "in", tmp_path / "out"
    source.write(folder)
    stale = tmp_path / f".out.tmp-{DEAD_PID}-k1ll3d_x"
    stale.mkdir()
    (stale / "arrays.npz").write_bytes(b"half written")
    assert main([*source.argv(folder), "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]
    assert json.loads((out / ".graphrec").read_text())["kind"] == "dataset"


# ------------------------------------------------------------------ 5. damaged prepared datasets
def _truncate_npz(out: Path) -> tuple[Path, str]:
    npz = out / "arrays.npz"
    npz.write_bytes(npz.read_bytes()[:200])
    return npz, "truncated or corrupt"


def _corrupt_meta(out: Path) -> tuple[Path, str]:
    meta = out / "meta.json"
    meta.write_text(meta.read_text()[:40])
    return meta, "not valid JSON"


def _binary_meta(out: Path) -> tuple[Path, str]:
    meta = out / "meta.json"
    meta.write_bytes(b"\xff\xfe" + meta.read_bytes())
    return meta, "not UTF-8"


def _missing_meta(out: Path) -> tuple[Path, str]:
    meta = out / "meta.json"
    meta.unlink()
    return meta, "missing"


DAMAGE = {"truncated arrays.npz": _truncate_npz, "corrupt meta.json": _corrupt_meta,
          "binary meta.json": _binary_meta, "missing meta.json": _missing_meta}
LOADERS: dict[str, Callable[[Path, Path], int]] = {
    "graphrec graph stats": lambda data, _out: main(["graph", "stats", "--data", str(data), "--hops", "1"]),
    "data_prep.build_graphs": lambda data, out: build_graphs.main(["--data", str(data), "--out", str(out)]),
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_prepared_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str,
                                  loader: str) -> None:
    source = SOURCES[0]
    folder, data = tmp_path / "in", tmp_path / "data"
    source.write(folder)
    _prepare_good(source, folder, data)
    bad_file, expected = DAMAGE[damage](data)
    before = _snapshot(tmp_path)
    _one_clear_error(lambda: LOADERS[loader](data, tmp_path / "graphs"), capsys, [str(bad_file), expected])
    assert _snapshot(tmp_path) == before
    assert not os.path.exists(tmp_path / "graphs")
