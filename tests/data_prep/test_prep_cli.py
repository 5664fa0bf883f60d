"""Each converter through `graphrec prepare <source>`: the source contract and the atomic write."""

import importlib
from pathlib import Path

import pytest

from graphrec.cli import main
from graphrec.data.dataset import SequenceDataset
from graphrec.data.sources import SOURCES

FIXTURES = Path(__file__).parent / "fixtures"
CASES = {
    "amazon": ["--reviews", FIXTURES / "amazon2014" / "reviews_Beauty_5.json.gz",
               "--meta", FIXTURES / "amazon2014" / "meta_Beauty.json.gz", "--preset", "s3rec"],
    "movielens": ["--input", FIXTURES / "ml-1m"],
    "tafeng": ["--input", FIXTURES / "tafeng" / "ta_feng_all_months_merged.csv"],
    "tmall": ["--input", FIXTURES / "tmall" / "user_log_format1.csv", "--actions", "click,purchase"],
    "taobao": ["--input", FIXTURES / "taobao" / "UserBehavior.csv", "--behaviors", "pv"],
    "comirec": ["--input", FIXTURES / "comirec" / "book_data", "--keep-split"],
}
#: (users, items, interactions) of each case, as worked out in the per-source tests
COUNTS = {
    "amazon": (5, 5, 26), "movielens": (2, 5, 7), "tafeng": (2, 4, 6), "tmall": (2, 3, 5),
    "taobao": (1, 3, 4), "comirec": (4, 4, 9),
}


@pytest.mark.parametrize("source", sorted(CASES))
def test_prepare_command_writes_the_dataset(source, tmp_path, capsys):
    module = importlib.import_module(SOURCES[source])
    assert module.DESCRIPTION and "graphrec prepare " + source in module.EXAMPLES
    out = tmp_path / "out"
    assert main(["prepare", source, *map(str, CASES[source]), "--out", str(out)]) == 0
    dataset = SequenceDataset.load(out)
    assert (dataset.num_users, dataset.num_items, dataset.num_interactions) == COUNTS[source]
    assert dataset.meta["source"] == source and dataset.meta["inputs"][0]["sha256"]
    assert '"checksum"' in capsys.readouterr().out


def test_failed_prepare_leaves_nothing_behind(tmp_path, capsys):
    bad = tmp_path / "UserBehavior.csv"
    bad.write_text("1,100,10,pv,1511544070\n1,101,11,pv,soon\n")
    out = tmp_path / "out"
    assert main(["prepare", "taobao", "--input", str(bad), "--out", str(out)]) == 2
    assert f"{bad}, line 2" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["UserBehavior.csv"]
