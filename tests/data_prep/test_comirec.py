"""ComiRec release converter on a hand-made book_data fixture."""

from pathlib import Path

from data_prep.comirec import convert_comirec, release_name

FIXTURE = Path(__file__).parent / "fixtures" / "comirec" / "book_data"


def _seqs(dataset):
    return [s.tolist() for s in dataset.sequences()]


def test_release_name():
    assert release_name(FIXTURE) == "book"


def test_exact_output_with_user_split():
    d = convert_comirec(FIXTURE, keep_split=True)
    assert d.user_names == ["0", "1", "2", "3"]
    assert d.item_names == ["5", "7", "9", "11"]
    assert _seqs(d) == [[1, 2, 1], [2, 3], [1, 3], [4, 2]]  # user 2's lines are out of order in the file
    assert d.item_category.tolist() == [0, 1, 2, 1, 0]  # item 11 has no category
    assert d.category_names == ["2", "1"]
    assert d.user_split.tolist() == [0, 0, 1, 2]
    assert d.meta["user_split"]["counts"] == {"train": 2, "valid": 1, "test": 1}
    assert len(d.meta["inputs"]) == 4


def test_merged_without_split_and_filtered():
    assert convert_comirec(FIXTURE).user_split is None
    d = convert_comirec(FIXTURE, name="book", keep_split=True, filters={"kcore_k": 2})
    assert _seqs(d) == [[1, 2, 1], [2, 3], [1, 3]]  # item 11, then user 3, drop out
    assert d.user_split.tolist() == [0, 0, 1]
