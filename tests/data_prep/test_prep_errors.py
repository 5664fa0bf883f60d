"""Bad input to the raw-dump converters: one DataFormatError naming the file, the line and the fix."""

import gzip
import shutil
from pathlib import Path

import pytest

from data_prep.amazon import convert_amazon
from data_prep.comirec import convert_comirec
from data_prep.movielens import convert_movielens
from data_prep.tafeng import convert_tafeng
from data_prep.taobao import convert_taobao
from data_prep.tmall import convert_tmall
from graphrec.data.errors import DataFormatError

FIXTURES = Path(__file__).parent / "fixtures"
TAOBAO = (FIXTURES / "taobao" / "UserBehavior.csv").read_text()
TMALL = (FIXTURES / "tmall" / "user_log_format1.csv").read_text()
TAFENG = (FIXTURES / "tafeng" / "ta_feng_all_months_merged.csv").read_text()
REVIEWS_2018 = (FIXTURES / "amazon2018" / "All_Beauty.json").read_text()


def _fails(call, path, line):
    """Run ``call``; it must raise one DataFormatError about ``path`` at ``line``, writing nothing."""
    folder = Path(path).parent
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(DataFormatError) as info:
        call()
    err = info.value
    assert err.path == str(path)
    if line == "after data":  # a truncated stream: the line after the last one that could be read
        assert isinstance(err.line, int) and err.line > 1, str(err)
    else:
        assert err.line == line, str(err)
    assert str(err).startswith(str(path))
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing half-written
    return err.message


def _with_line(text, lineno, replacement):
    lines = text.splitlines()
    lines[lineno - 1] = replacement
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ truncated gzip
def test_truncated_gzip_csv(tmp_path):
    path = tmp_path / "UserBehavior.csv.gz"
    path.write_bytes(gzip.compress((TAOBAO * 200).encode())[:-12])
    message = _fails(lambda: convert_taobao(path), path, "after data")
    assert "truncated" in message and "download it again" in message


def test_truncated_gzip_json_lines(tmp_path):
    path = tmp_path / "reviews.json.gz"
    path.write_bytes(gzip.compress((REVIEWS_2018 * 50).encode())[:-12])
    assert "truncated" in _fails(lambda: convert_amazon(path), path, "after data")


# ---------------------------------------------------------- wrong number of fields
def test_extra_field_later_line(tmp_path):
    path = tmp_path / "UserBehavior.csv"
    path.write_text(_with_line(TAOBAO, 4, "1,100,10,pv,1511544070,9"))
    message = _fails(lambda: convert_taobao(path), path, 4)
    assert "6 fields" in message and "expected 5" in message


def test_extra_field_first_line(tmp_path):
    path = tmp_path / "UserBehavior.csv"
    path.write_text(_with_line(TAOBAO, 1, "1,100,10,pv,1511544070,9"))
    assert "6 fields" in _fails(lambda: convert_taobao(path), path, 1)


def test_missing_field_with_header(tmp_path):
    path = tmp_path / "user_log_format1.csv"
    path.write_text(_with_line(TMALL, 3, "10,101,7,500,0510,0"))
    assert "6 fields" in _fails(lambda: convert_tmall(path), path, 3)


def test_double_colon_file_field_count(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_text("1::1193::5::978300760\n1::661::3::978302109::7\n")
    assert "5 fields separated by '::'" in _fails(lambda: convert_movielens(path), path, 2)


def test_movies_file_field_count(tmp_path):
    shutil.copy(FIXTURES / "ml-1m" / "ratings.dat", tmp_path / "ratings.dat")
    movies = tmp_path / "movies.dat"
    movies.write_text("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n914::My Fair Lady (1964)\n")
    _fails(lambda: convert_movielens(tmp_path / "ratings.dat", movies), movies, 2)


def test_comirec_field_count(tmp_path):
    for f in (FIXTURES / "comirec" / "book_data").iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "book_valid.txt").write_text("2,9,1\n2,5\n")
    _fails(lambda: convert_comirec(tmp_path), tmp_path / "book_valid.txt", 2)


def test_tmall_header(tmp_path):
    path = tmp_path / "user_log_format1.csv"
    path.write_text(_with_line(TMALL, 1, "user,item,cat,seller,brand,time,action"))
    assert "header" in _fails(lambda: convert_tmall(path), path, 1)


# -------------------------------------------------------------- bad timestamps
def test_non_numeric_timestamp_csv(tmp_path):
    path = tmp_path / "UserBehavior.csv"
    path.write_text(_with_line(TAOBAO, 2, "1,101,11,pv,2017-11-25"))
    assert "'timestamp' is '2017-11-25', not an integer" in _fails(lambda: convert_taobao(path), path, 2)


def test_non_numeric_timestamp_json(tmp_path):
    path = tmp_path / "All_Beauty.json"
    path.write_text(REVIEWS_2018.replace('"unixReviewTime": 1470096000', '"unixReviewTime": "yesterday"', 1))
    assert "'unixReviewTime' is 'yesterday'" in _fails(lambda: convert_amazon(path), path, 3)


def test_mmdd_that_is_not_a_date(tmp_path):
    path = tmp_path / "user_log_format1.csv"
    path.write_text(_with_line(TMALL, 6, "11,102,8,501,,0230,0"))
    assert "mmdd" in _fails(lambda: convert_tmall(path), path, 6)


def test_tafeng_bad_day(tmp_path):
    path = tmp_path / "ta_feng.csv"
    path.write_text(_with_line(TAFENG, 3, "31/31/2000,01104905,45-49,115,110217,4710857472535,1,48,46"))
    assert "TRANSACTION_DT" in _fails(lambda: convert_tafeng(path), path, 3)


def test_movielens_csv_bad_timestamp(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,296,5.0,1147880044\n1,306,3.5,soon\n")
    _fails(lambda: convert_movielens(path), path, 3)


def test_tmall_unknown_action(tmp_path):
    path = tmp_path / "user_log_format1.csv"
    path.write_text(_with_line(TMALL, 2, "10,100,7,500,900,0511,7"))
    assert "action_type" in _fails(lambda: convert_tmall(path), path, 2)


# ---------------------------------------------------- metadata matching nothing
def test_amazon_metadata_of_other_items(tmp_path):
    meta = tmp_path / "meta_Other.json"
    meta.write_text("{'asin': 'Z1', 'categories': [['Books', 'Fiction']]}\n")
    reviews = FIXTURES / "amazon2018" / "All_Beauty.json"
    message = _fails(lambda: convert_amazon(reviews, meta), meta, None)
    assert "none of the 3 reviewed items" in message and "same category" in message


def test_movies_file_of_another_release(tmp_path):
    shutil.copy(FIXTURES / "ml-1m" / "ratings.dat", tmp_path / "ratings.dat")
    movies = tmp_path / "movies.dat"
    movies.write_text("5::Father of the Bride Part II (1995)::Comedy\n")
    assert "same MovieLens release" in _fails(
        lambda: convert_movielens(tmp_path / "ratings.dat", movies), movies, None)


def test_comirec_categories_of_another_release(tmp_path):
    for f in (FIXTURES / "comirec" / "book_data").iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "book_item_cate.txt").write_text("500,1\n")
    _fails(lambda: convert_comirec(tmp_path), tmp_path / "book_item_cate.txt", None)


# ------------------------------------------------------- empty after filtering
def test_empty_after_kcore(tmp_path):
    path = tmp_path / "UserBehavior.csv"
    path.write_text(TAOBAO)
    message = _fails(lambda: convert_taobao(path, filters={"kcore_k": 10}), path, None)
    assert "kcore" in message and "relax" in message


def test_empty_after_behaviour_then_kcore(tmp_path):
    path = tmp_path / "user_log_format1.csv"
    path.write_text(TMALL)
    assert "kcore" in _fails(lambda: convert_tmall(path, actions=["purchase"], filters={"kcore_k": 2}),
                             path, None)


def test_empty_after_rating_threshold():
    reviews = FIXTURES / "amazon2018" / "All_Beauty.json"
    assert "rating_threshold" in _fails(lambda: convert_amazon(reviews, filters={"min_rating": 6}),
                                        reviews, None)


# ------------------------------------------------------------------ misc input
def test_python_literal_metadata_is_never_executed(tmp_path):
    meta = tmp_path / "meta.json"
    marker = tmp_path / "executed"
    meta.write_text(f"__import__('pathlib').Path({str(marker)!r}).touch()\n")
    reviews = FIXTURES / "amazon2018" / "All_Beauty.json"
    with pytest.raises(DataFormatError) as info:
        convert_amazon(reviews, meta)
    assert info.value.line == 1 and "Python dict literal" in info.value.message
    assert not marker.exists()


def test_review_line_without_asin(tmp_path):
    path = tmp_path / "All_Beauty.json"
    path.write_text(REVIEWS_2018 + '{"reviewerID": "R9", "overall": 5.0, "unixReviewTime": 1}\n')
    assert "'asin'" in _fails(lambda: convert_amazon(path), path, 6)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "UserBehavior.csv"
    empty.write_text("")
    assert "empty" in _fails(lambda: convert_taobao(empty), empty, None)
    with pytest.raises(DataFormatError, match="not found"):
        convert_taobao(tmp_path / "absent.csv")


def test_comirec_user_in_two_splits(tmp_path):
    for f in (FIXTURES / "comirec" / "book_data").iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "book_test.txt").write_text("3,11,0\n0,7,1\n")
    assert "keep_split" in _fails(lambda: convert_comirec(tmp_path, keep_split=True),
                                  tmp_path / "book_test.txt", 2)
    assert convert_comirec(tmp_path).num_users == 4  # merging is fine


# ------------------------------------------------ numbers out of range, binary input
@pytest.mark.parametrize("value, what", [("99999999999999999999", "beyond the range of a 64-bit integer"),
                                         ("1e30", "not an integer")])
def test_timestamp_beyond_int64_csv(tmp_path, value, what):
    path = tmp_path / "UserBehavior.csv"
    path.write_text(_with_line(TAOBAO, 3, f"2,100,10,buy,{value}"))
    assert f"'timestamp' is '{value}', {what}" in _fails(lambda: convert_taobao(path), path, 3)


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_rating_not_finite(tmp_path, value):
    path = tmp_path / "ratings.csv"
    path.write_text(f"userId,movieId,rating,timestamp\n1,296,5.0,1147880044\n1,306,{value},1147880045\n")
    assert f"'rating' is '{value}', not a finite number" in _fails(lambda: convert_movielens(path), path, 3)


@pytest.mark.parametrize("field, value", [("unixReviewTime", "1e30"), ("unixReviewTime", "1e19"),
                                          ("overall", "NaN"), ("overall", "Infinity")])
def test_json_number_out_of_range(tmp_path, field, value):
    path = tmp_path / "All_Beauty.json"
    old = '"unixReviewTime": 1470096000' if field == "unixReviewTime" else '"overall": 5.0'
    assert old in REVIEWS_2018
    path.write_text(REVIEWS_2018.replace(old, f'"{field}": {value}', 1))
    line = 1 + REVIEWS_2018[: REVIEWS_2018.index(old)].count("\n")
    assert f"'{field}'" in _fails(lambda: convert_amazon(path), path, line)


def test_binary_bytes_in_a_utf8_csv(tmp_path):
    path = tmp_path / "UserBehavior.csv"
    path.write_bytes(TAOBAO.encode() + b"4,10\xff,10,pv,1511544070\n")
    assert "not valid utf-8 text" in _fails(lambda: convert_taobao(path), path, TAOBAO.count("\n") + 1)
