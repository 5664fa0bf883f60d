"""MovieLens converter on ml-1m-style (.dat, Latin-1) and ml-25m-style (.csv) fixtures."""

from pathlib import Path

import pytest

from data_prep.movielens import convert_movielens, read_movies

FIXTURES = Path(__file__).parent / "fixtures"
ML1M = FIXTURES / "ml-1m"
ML25M = FIXTURES / "ml-25m"


def _seqs(dataset):
    return [s.tolist() for s in dataset.sequences()]


def test_latin1_titles_are_read():
    genres = read_movies(ML1M / "movies.dat")
    assert genres[73] == ["Drama", "Musical"]  # "Misérables, Les (1995)" in Latin-1
    assert genres[661] == ["Animation", "Children's", "Musical"]


@pytest.mark.parametrize("chunk_rows", [2, 1000])
def test_dat_exact_output(chunk_rows):
    d = convert_movielens(ML1M / "ratings.dat", ML1M / "movies.dat", chunk_rows=chunk_rows)
    # user 1: 1193, 914, 914 (duplicate row), 661; user 2: 73 and 999 tie (file order), then 1193
    assert d.user_names == ["1", "2"]
    assert d.item_names == ["1193", "914", "661", "73", "999"]
    assert _seqs(d) == [[1, 2, 2, 3], [4, 5, 1]]
    assert d.item_category.tolist() == [0, 1, 2, 3, 1, 0]  # 999 is not in movies.dat
    assert d.category_names == ["Drama", "Musical", "Animation"]
    # Drama 1, Musical 2, Romance 3, Animation 4, Children's 5
    assert d.attr_indptr.tolist() == [0, 0, 1, 3, 6, 8, 8]
    assert d.attr_values.tolist() == [1, 2, 3, 4, 5, 2, 1, 2]
    assert d.meta["items_without_category"] == 1
    assert [i["path"].rsplit("/", 1)[-1] for i in d.meta["inputs"]] == ["ratings.dat", "movies.dat"]


def test_rating_threshold():
    d = convert_movielens(ML1M / "ratings.dat", ML1M / "movies.dat", filters={"min_rating": 4})
    assert d.item_names == ["1193", "73"] and _seqs(d) == [[1], [2, 1]]
    assert d.meta["filters"][0]["filter"] == "rating_threshold"
    assert d.meta["filters"][0]["after"]["interactions"] == 3


def test_csv_exact_output():
    d = convert_movielens(ML25M / "ratings.csv", ML25M / "movies.csv")
    assert d.item_names == ["306", "296", "11", "209163"]
    assert _seqs(d) == [[1, 2], [2, 3, 4]]
    assert d.item_category.tolist() == [0, 1, 2, 2, 0]  # "(no genres listed)" -> unknown
    assert d.category_names == ["Drama", "Comedy"]
    assert d.timestamps.tolist() == [1147868817, 1147880044, 1147880000, 1147880000, 1553453039]
    # Drama 1, Comedy 2, Crime 3, Thriller 4, Romance 5; "American President, The" is quoted
    assert d.attr_indptr.tolist() == [0, 0, 1, 5, 8, 8]
    assert d.attr_values.tolist() == [1, 2, 3, 1, 4, 2, 1, 5]


def test_without_movies_file():
    d = convert_movielens(ML25M / "ratings.csv")
    assert not d.has_categories and d.attr_indptr is None
