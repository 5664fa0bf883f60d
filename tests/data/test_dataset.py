"""SequenceDataset: invariants, checksum, atomic save/load round trip, folder ownership, damaged files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from graphrec.data.dataset import SequenceDataset
from graphrec.data.dataset_dir import remove_stale_temporaries
from graphrec.data.errors import DataFormatError
from graphrec.outputs import OutputError, read_marker


def _full_dataset() -> SequenceDataset:
    return SequenceDataset(
        indptr=[0, 3, 5],
        items=[1, 2, 3, 3, 1],
        num_items=3,
        item_category=[0, 1, 2, 1],
        timestamps=[10, 11, 12, 5, 6],
        attr_indptr=[0, 0, 2, 3, 3],
        attr_values=[1, 2, 2],
        user_split=[0, 2],
        user_names=["alice", "bob"],
        item_names=["x", "y", "z"],
        category_names=["red", "blue"],
        meta={"source": "hand"},
    )


def test_counts_and_accessors() -> None:
    ds = _full_dataset()
    assert (ds.num_users, ds.num_items, ds.num_interactions, ds.num_categories) == (2, 3, 5, 2)
    np.testing.assert_array_equal(ds.lengths, [3, 2])
    np.testing.assert_array_equal(ds.sequence(1), [3, 1])
    np.testing.assert_array_equal(ds.item_popularity(), [0, 2, 1, 2])
    np.testing.assert_array_equal(ds.item_attributes(1), [1, 2])
    np.testing.assert_array_equal(ds.item_attributes(3), [])
    assert [s.tolist() for s in ds.sequences()] == [[1, 2, 3], [3, 1]]
    assert ds.summary()["avg_length"] == 2.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"indptr": [1, 2], "items": [1]}, "starting at 0"),
        ({"indptr": [0, 2], "items": [1]}, "indptr\\[-1\\]"),
        ({"indptr": [0, 1], "items": [0]}, "1..3"),
        ({"indptr": [0, 1], "items": [4]}, "1..3"),
        ({"indptr": [0, 1], "items": [1], "item_category": [0, 1]}, "num_items \\+ 1"),
        ({"indptr": [0, 1], "items": [1], "timestamps": [1, 2]}, "timestamps"),
    ],
)
def test_validation_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SequenceDataset(num_items=3, **kwargs)


def test_checksum_is_content_sensitive() -> None:
    a, b = _full_dataset(), _full_dataset()
    assert a.checksum() == b.checksum() and len(a.checksum()) == 16
    b.items[0] = 2
    assert a.checksum() != b.checksum()
    c = _full_dataset()
    c.user_names = ["u", "v"]  # names are not content
    assert c.checksum() == a.checksum()


def test_save_load_round_trip(tmp_path: Path) -> None:
    ds = _full_dataset()
    target = ds.save(tmp_path / "ds")
    assert sorted(p.name for p in target.iterdir()) == [".graphrec", "arrays.npz", "meta.json", "names.json"]
    meta = json.loads((target / "meta.json").read_text())
    assert meta["checksum"] == ds.checksum() and meta["num_users"] == 2 and meta["source"] == "hand"
    back = SequenceDataset.load(target)
    assert back.checksum() == ds.checksum()
    arrays = ("indptr", "items", "item_category", "timestamps", "attr_indptr", "attr_values", "user_split")
    for name in arrays:
        np.testing.assert_array_equal(getattr(back, name), getattr(ds, name))
    assert back.user_names == ["alice", "bob"] and back.category_names == ["red", "blue"]
    assert back.meta == {"source": "hand"}


def test_save_overwrites_previous_copy(tmp_path: Path) -> None:
    _full_dataset().save(tmp_path / "ds")
    small = SequenceDataset.from_sequences([[1, 2]])
    small.save(tmp_path / "ds", overwrite=True)
    assert SequenceDataset.load(tmp_path / "ds").checksum() == small.checksum()
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]


def test_failed_save_keeps_previous_copy_and_leaves_no_temp(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    good = _full_dataset()
    good.save(tmp_path / "ds")

    def broken_savez(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        SequenceDataset.from_sequences([[1]]).save(tmp_path / "ds", overwrite=True)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]
    assert SequenceDataset.load(tmp_path / "ds").checksum() == good.checksum()


def test_failed_first_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json, "dump", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        _full_dataset().save(tmp_path / "ds")
    assert list(tmp_path.iterdir()) == []


def test_checksum_mismatch_is_reported(tmp_path: Path) -> None:
    target = _full_dataset().save(tmp_path / "ds")
    with np.load(target / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["items"] = arrays["items"][::-1].copy()
    np.savez(target / "arrays.npz", **arrays)
    with pytest.raises(DataFormatError, match="does not match meta.json") as info:
        SequenceDataset.load(target)
    assert info.value.path.endswith("arrays.npz")


def test_load_without_meta(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no meta.json"):
        SequenceDataset.load(tmp_path)


def test_from_sequences() -> None:
    ds = SequenceDataset.from_sequences([[2, 1], [], [3]])
    np.testing.assert_array_equal(ds.indptr, [0, 2, 2, 3])
    assert ds.num_items == 3 and not ds.has_categories
    empty = SequenceDataset.from_sequences([])
    assert empty.num_users == 0 and empty.num_items == 0


# ------------------------------------------------------------ the folder graphrec owns
DEAD_PID = 999_999_999  # above any pid_max: no such process


def test_saved_dataset_carries_the_marker(tmp_path: Path) -> None:
    target = _full_dataset().save(tmp_path / "ds")
    assert read_marker(target) == {"kind": "dataset", "made_by": "graphrec"}


def test_save_refuses_folders_and_files_graphrec_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("notes")
    with pytest.raises(OutputError, match="not made by graphrec"):
        _full_dataset().save(mine, overwrite=True)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    file = tmp_path / "file"
    file.write_text("data")
    with pytest.raises(OutputError, match="is a file"):
        _full_dataset().save(file, overwrite=True)
    assert file.read_text() == "data"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert SequenceDataset.load(_full_dataset().save(empty)).num_users == 2  # an empty folder is fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file", "mine"]


def test_save_replaces_an_earlier_dataset_only_with_overwrite(tmp_path: Path) -> None:
    good = _full_dataset()
    good.save(tmp_path / "ds")
    with pytest.raises(OutputError, match="already holds a dataset; pass --overwrite"):
        SequenceDataset.from_sequences([[1]]).save(tmp_path / "ds")
    assert SequenceDataset.load(tmp_path / "ds").checksum() == good.checksum()


def test_dataset_of_an_older_version_loads_but_is_not_replaced(tmp_path: Path) -> None:
    target = _full_dataset().save(tmp_path / "old")
    (target / ".graphrec").unlink()  # as written before datasets carried the marker
    assert SequenceDataset.load(target).checksum() == _full_dataset().checksum()
    with pytest.raises(OutputError, match="older graphrec .* still loads"):
        SequenceDataset.from_sequences([[1]]).save(target, overwrite=True)
    assert SequenceDataset.load(target).checksum() == _full_dataset().checksum()


def test_stale_temporaries_of_a_killed_save_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / f".ds.tmp-{DEAD_PID}-abcd_123"
    legacy = tmp_path / ".ds.tmp-q1w2e3r4"  # the name of an older version's temporary
    live = tmp_path / f".ds.tmp-{os.getpid()}-abcd_123"  # a save running now
    user = tmp_path / f".ds.tmp-{DEAD_PID}-zzzzzzzz"  # the pattern, but files save never writes
    other = tmp_path / ".other.tmp-q1w2e3r4"  # another dataset's
    for folder in (stale, legacy, live, user, other):
        folder.mkdir()
        (folder / "arrays.npz").write_bytes(b"half")
    (user / "thesis.tex").write_text("mine")
    _full_dataset().save(tmp_path / "ds")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ds", live.name, user.name, other.name])


def test_previous_copy_set_aside_by_a_killed_swap_is_put_back(tmp_path: Path) -> None:
    good = _full_dataset()
    good.save(tmp_path / "ds")
    aside = tmp_path / f".ds.old-{DEAD_PID}"
    os.replace(tmp_path / "ds", aside)  # killed between the two renames of the swap
    assert remove_stale_temporaries(tmp_path / "ds") == [aside]
    assert SequenceDataset.load(tmp_path / "ds").checksum() == good.checksum()
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]


# ------------------------------------------------------------ damaged prepared datasets
def test_truncated_arrays_npz(tmp_path: Path) -> None:
    target = _full_dataset().save(tmp_path / "ds")
    npz = target / "arrays.npz"
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    with pytest.raises(DataFormatError, match="truncated or corrupt") as info:
        SequenceDataset.load(target)
    assert info.value.path == str(npz) and "prepare it again" in str(info.value)


@pytest.mark.parametrize("text, line, message", [
    ('{"num_items": 3,\n "checksum": ', 2, "not valid JSON"),
    ("[1, 2]", None, "expected a JSON object"),
    ('{"source": "x"}', None, "no integer 'num_items'"),
    ("\udcff", None, "not UTF-8"),
])
def test_corrupt_meta_json(tmp_path: Path, text: str, line: int | None, message: str) -> None:
    target = _full_dataset().save(tmp_path / "ds")
    (target / "meta.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(DataFormatError, match=message) as info:
        SequenceDataset.load(target)
    assert info.value.path == str(target / "meta.json") and info.value.line == line


def test_missing_meta_json_of_a_prepared_dataset(tmp_path: Path) -> None:
    target = _full_dataset().save(tmp_path / "ds")
    (target / "meta.json").unlink()
    with pytest.raises(DataFormatError, match="missing: the prepared dataset is incomplete") as info:
        SequenceDataset.load(target)
    assert info.value.path == str(target / "meta.json")


def test_arrays_that_break_the_invariants(tmp_path: Path) -> None:
    target = _full_dataset().save(tmp_path / "ds")
    np.savez(target / "arrays.npz", indptr=np.array([0, 9]), items=np.array([1]))
    with pytest.raises(DataFormatError, match="does not hold a valid dataset") as info:
        SequenceDataset.load(target)
    assert info.value.path == str(target / "arrays.npz")
