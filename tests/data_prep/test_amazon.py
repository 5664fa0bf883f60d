"""Amazon converter: 2014 (Python-literal metadata, s3rec preset), ratings CSV, 2018 and 2023 fixtures."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from data_prep.amazon import convert_amazon, item_info

FIXTURES = Path(__file__).parent / "fixtures"
A14, A18, A23 = FIXTURES / "amazon2014", FIXTURES / "amazon2018", FIXTURES / "amazon2023"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
T0, DAY = 1_400_000_000, 86_400


def _seqs(dataset):
    return [s.tolist() for s in dataset.sequences()]


def _attributes(dataset):
    names = dataset.item_names
    return {names[i - 1]: dataset.item_attributes(i).tolist() for i in range(1, dataset.num_items + 1)}


def test_item_info_rules():
    record = {"asin": "x", "brand": "Acme", "categories": [["Beauty", "Makeup", "Lips"], ["Beauty"]]}
    assert item_info(record) == ("Lips", ["Acme", "Beauty", "Makeup", "Lips", "Beauty"])
    assert item_info(record, drop_root_category=True) == ("Lips", ["Acme", "Makeup", "Lips"])
    assert item_info({"categories": [["Beauty"]]}) == ("Beauty", ["Beauty"])
    assert item_info({"categories": [["Beauty"]]}, drop_root_category=True) == (None, [])
    assert item_info({"category": ["All Beauty", "Body"], "brand": ""}) == ("Body", ["All Beauty", "Body"])
    assert item_info({"brand": ""}, keep_empty_brand=True) == (None, [""])
    assert item_info({"categories": ["A", "B"], "store": "S"}) == ("B", ["S", "A", "B"])


@pytest.mark.parametrize("batch_lines", [4, 100_000])
def test_s3rec_preset_exact_output(batch_lines):
    # U6 (3 reviews) and B6 (1 review) fall below 5; U4 reviewed B2 twice, once on the day of its B1 review
    d = convert_amazon(A14 / "reviews_Beauty_5.json.gz", A14 / "meta_Beauty.json.gz", preset="s3rec",
                       batch_lines=batch_lines)
    assert d.user_names == ["U3", "U1", "U2", "U5", "U4"]
    assert d.item_names == ["B2", "B3", "B4", "B5", "B1"]
    assert _seqs(d) == [[1, 2, 3, 4, 5], [3, 4, 5, 1, 2], [2, 3, 4, 5, 1], [4, 5, 1, 2, 3],
                        [5, 1, 1, 2, 3, 4]]
    assert d.timestamps[-6:].tolist() == [T0, T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY]
    # B2: last of 'Skin Care', 'Face' ('Beauty'-only path adds nothing); B3: Face (last path);
    # B4: only ['Beauty'] -> unknown; B5: no metadata line -> unknown
    assert d.item_category.tolist() == [0, 1, 1, 0, 0, 2]
    assert d.category_names == ["Face", "Powder"]
    assert _attributes(d) == {"B2": [1, 2, 3], "B3": [4, 5, 4, 3], "B4": [6], "B5": [], "B1": [7, 4, 3, 8]}
    (kcore,) = d.meta["filters"]
    assert kcore["params"] == {"user_k": 5, "item_k": 5}
    assert kcore["before"] == {"interactions": 30, "users": 6, "items": 6}
    assert kcore["after"] == {"interactions": 26, "users": 5, "items": 5}
    assert d.meta["preset"] == "s3rec" and d.meta["items_without_category"] == 2
    assert d.meta["num_attributes"] == 8  # '' (empty brand kept, as S3-Rec does), Skin Care, Face, ...


def test_2014_without_preset_keeps_everything():
    d = convert_amazon(A14 / "reviews_Beauty_5.json.gz", A14 / "meta_Beauty.json.gz")
    assert d.num_users == 6 and d.num_items == 6 and d.num_interactions == 30
    names = d.category_names
    category = {d.item_names[i - 1]: names[c - 1] if c else None
                for i, c in enumerate(d.item_category[1:], 1)}
    assert category == {"B1": "Powder", "B2": "Face", "B3": "Face", "B4": "Beauty", "B5": None,
                        "B6": "Fragrance"}


def test_explicit_filter_overrides_the_preset():
    d = convert_amazon(A14 / "reviews_Beauty_5.json.gz", preset="s3rec", filters={"kcore_k": 2})
    assert d.meta["filters"][0]["params"] == {"user_k": 2, "item_k": 2}
    assert d.num_users == 6 and d.num_items == 5  # B6 (one review) goes, U6 (3 reviews) stays


def test_ratings_csv_2014():
    d = convert_amazon(A14 / "ratings_Beauty.csv")
    assert d.user_names == ["A2ZY49IDE6TY5I", "A1KN6MA8Q8OZ4T"]
    assert d.item_names == ["0205616461", "0558925278"]  # leading zeros kept
    assert _seqs(d) == [[1, 2], [1, 2]]
    assert d.timestamps.tolist() == [1369699200, 1369699200, 1355356800, 1355443200]
    assert d.meta["layout"].startswith("csv 2014")


def test_2018_json_with_rating_filter():
    d = convert_amazon(A18 / "All_Beauty.json", A18 / "meta_All_Beauty.json", filters={"min_rating": 3})
    assert d.user_names == ["R1", "R2", "R3"] and d.item_names == ["P1", "P3"]
    assert _seqs(d) == [[1], [1, 2], [2]]
    assert d.item_category.tolist() == [0, 1, 2] and d.category_names == ["Body", "Fragrance"]
    # Nivea 1, All Beauty 2, Skin Care 3, Body 4, Fragrance 5
    assert _attributes(d) == {"P1": [1, 2, 3, 4], "P3": [2, 5]}
    assert d.meta["filters"][0]["after"] == {"interactions": 4, "users": 3, "items": 2}
    full = convert_amazon(A18 / "All_Beauty.json", A18 / "meta_All_Beauty.json")
    assert full.item_names == ["P2", "P1", "P3"] and full.item_category[1] == 0  # empty category list


def test_2023_milliseconds_order_then_seconds():
    d = convert_amazon(A23 / "All_Beauty.jsonl", A23 / "meta_All_Beauty.jsonl")
    # AG1's two reviews fall in the same second: the milliseconds put V2 (...100 ms) before V1 (...923 ms)
    assert d.user_names == ["AG1", "AG2"] and d.item_names == ["V2", "V1", "V3"]
    assert _seqs(d) == [[1, 2], [2, 3]]
    assert d.timestamps.tolist() == [1588687728, 1588687728, 1590000000, 1600000000]
    assert d.item_category.tolist() == [0, 1, 0, 2] and d.category_names == ["Brushes", "Skin Care"]
    assert _attributes(d) == {"V2": [1, 2, 3, 4], "V1": [5], "V3": [2, 6]}  # store as brand


@pytest.mark.realdata
def test_s3rec_preset_reproduces_amazon_beauty_counts(tmp_path):
    """Raw-format files rebuilt from the S3Rec Beauty release must come back unchanged.

    Each user's sequence becomes reviews one day apart; each item's attribute list becomes one
    category path under a 'Beauty' root. The 5-core is then a no-op and the counts are those of
    S3Rec's Beauty (22,363 / 12,101 / 198,502; 195 leaf categories, 637 attributes).
    """
    folder = SHARED / "amazon-beauty"
    if not (folder / "Beauty.txt").is_file():
        pytest.skip(f"real data not found at {folder}")
    sequences = [line.split() for line in (folder / "Beauty.txt").read_text().splitlines() if line.strip()]
    attributes = json.loads((folder / "Beauty_item2attributes.json").read_text())
    with gzip.open(tmp_path / "reviews_Beauty_5.json.gz", "wt") as fh:
        for user, *items in sequences:
            for t, item in enumerate(items):
                fh.write(json.dumps({"reviewerID": f"U{user}", "asin": f"I{item}", "overall": 5.0,
                                     "unixReviewTime": T0 + t * DAY}) + "\n")
    with gzip.open(tmp_path / "meta_Beauty.json.gz", "wt") as fh:
        for item, attrs in attributes.items():
            path = ["Beauty", *(f"a{a}" for a in attrs)]
            fh.write(repr({"asin": f"I{item}", "categories": [path]}) + "\n")
    d = convert_amazon(tmp_path / "reviews_Beauty_5.json.gz", tmp_path / "meta_Beauty.json.gz",
                       preset="s3rec")
    assert (d.num_users, d.num_items, d.num_interactions) == (22_363, 12_101, 198_502)
    assert d.num_categories == 195 and d.meta["num_attributes"] == 637
    assert d.meta["filters"][0]["after"] == d.meta["filters"][0]["before"]
    names = np.array([n[1:] for n in d.item_names])
    for u in (0, 1, 17, d.num_users - 1):
        assert names[d.sequence(u) - 1].tolist() == sequences[int(d.user_names[u][1:]) - 1][1:]
