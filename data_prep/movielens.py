"""MovieLens ratings (GroupLens; Harper & Konstan, ACM TiiS 2015) to the canonical dataset.

Two published layouts are read:

* **ml-1m, ml-10m** (``ml-10M100K``): ``ratings.dat`` lines ``UserID::MovieID::Rating::Timestamp``
  and ``movies.dat`` lines ``MovieID::Title::Genres``, no header, Latin-1 text
  (titles such as ``Misérables, Les (1995)``)::

      1::1193::5::978300760
      1193::One Flew Over the Cuckoo's Nest (1975)::Drama

* **ml-20m, ml-25m, ml-32m** (and ``ml-latest``): ``ratings.csv`` with header
  ``userId,movieId,rating,timestamp`` and ``movies.csv`` with header
  ``movieId,title,genres`` (titles with commas are quoted), UTF-8.

Rules:

* every rating is an interaction (use the shared ``min_rating`` filter to keep,
  e.g., ratings >= 4); each user's ratings are sorted by ``timestamp`` (Unix
  seconds), the file order breaking ties;
* genres are ``|``-separated: the **first genre is the item's category**, all of
  them are its attributes; ``(no genres listed)`` means none (category 0);
* a rated movie missing from the movies file gets category 0 (counted in
  ``meta["items_without_category"]``); a movies file that names none of the
  rated movies is an error (wrong release?).

``ratings.dat`` is split with pandas' C reader (on ``:``, keeping every other
field), so ml-10m's 10M lines are read in seconds; the movies file is small and
read line by line.

Example::

    from data_prep.movielens import convert_movielens
    dataset = convert_movielens("ml-1m/ratings.dat", "ml-1m/movies.dat", filters={"kcore_k": 5})
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_prep._common import (
    CHUNK_ROWS,
    Delimited,
    PathLike,
    file_provenance,
    filter_interactions,
    iter_lines,
    open_text,
    read_delimited,
    reading,
    require_file,
)
from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.interactions import dataset_from_interactions

DESCRIPTION = "MovieLens ml-1m/ml-10m (ratings.dat, movies.dat) or ml-20m/25m/32m (ratings.csv, movies.csv)"
EXAMPLES = """\
  graphrec prepare movielens --input ml-1m --out data/ml-1m
  graphrec prepare movielens --input ml-25m/ratings.csv --min-rating 4 --kcore 5 --out data/ml-25m
"""

NO_GENRE = "(no genres listed)"

_DAT_HINT = "expected ratings.dat lines 'UserID::MovieID::Rating::Timestamp'; fix or remove that line"
_CSV_HINT = "expected ratings.csv lines 'userId,movieId,rating,timestamp'; fix or remove that line"
DAT_LAYOUT = Delimited(
    columns=("UserID", "MovieID", "Rating", "Timestamp"), sep="::", encoding="latin-1",
    integer=("UserID", "MovieID", "Timestamp"), number=("Rating",), hint=_DAT_HINT,
)
CSV_LAYOUT = Delimited(
    columns=("userId", "movieId", "rating", "timestamp"), header=True,
    integer=("userId", "movieId", "timestamp"), number=("rating",), hint=_CSV_HINT,
)


def _layout(ratings: Path) -> Delimited:
    return DAT_LAYOUT if ".dat" in ratings.suffixes else CSV_LAYOUT


def default_movies_path(ratings: PathLike) -> Path:
    """``movies.dat`` / ``movies.csv`` beside the ratings file (same layout)."""
    ratings = Path(ratings)
    return ratings.with_name("movies.dat" if ".dat" in ratings.suffixes else "movies.csv")


def read_ratings(path: PathLike, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """``user, item, rating, timestamp`` of a ``ratings.dat`` / ``ratings.csv`` file."""
    path = require_file(path, "MovieLens ratings file")
    layout = _layout(path)
    user, item, rating, stamp = layout.columns
    dtype = {user: np.int64, item: np.int64, rating: np.float64, stamp: np.int64}
    chunks = []
    with reading(path, layout):
        for chunk in read_delimited(path, layout, dtype, chunk_rows=chunk_rows):
            chunks.append(pd.DataFrame({
                "user": chunk[user].to_numpy(),
                "item": chunk[item].to_numpy(),
                "rating": chunk[rating].to_numpy(),
                "timestamp": chunk[stamp].to_numpy(),
            }))
    return pd.concat(chunks, ignore_index=True)


def read_movies(path: PathLike) -> dict[int, list[str]]:
    """movie id -> its genres (``[]`` for none) from ``movies.dat`` or ``movies.csv``."""
    path = require_file(path, "MovieLens movies file")
    genres: dict[int, list[str]] = {}
    if ".dat" in path.suffixes:
        rows = ((n, line.split("::")) for n, line in iter_lines(path, "latin-1") if line.strip())
        expected = "'MovieID::Title::Genres'"
    else:
        rows = _csv_rows(path)
        expected = "'movieId,title,genres'"
    for lineno, fields in rows:
        if len(fields) != 3:
            raise DataFormatError(path, lineno, f"{len(fields)} fields, expected 3 ({expected}); "
                                  "fix or remove that line")
        try:
            movie = int(fields[0])
        except ValueError:
            raise DataFormatError(path, lineno, f"movie id {fields[0]!r} is not an integer; "
                                  "fix or remove that line") from None
        names = [g.strip() for g in fields[2].split("|") if g.strip() and g.strip() != NO_GENRE]
        genres[movie] = names
    return genres


def _csv_rows(path: Path) -> Any:
    with open_text(path, "utf-8") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataFormatError(path, None, "no header line") from None
        if [h.strip() for h in header] != ["movieId", "title", "genres"]:
            raise DataFormatError(path, 1, f"header {header} is not 'movieId,title,genres'; is this "
                                  "movies.csv?")
        for fields in reader:
            if fields:
                yield reader.line_num, fields


def convert_movielens(
    ratings: PathLike,
    movies: PathLike | None = None,
    filters: dict[str, Any] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> SequenceDataset:
    """Convert MovieLens ratings (+ movies for genres) to a :class:`SequenceDataset`.

    Args:
        ratings: ``ratings.dat`` (ml-1m, ml-10m) or ``ratings.csv`` (ml-20m and later),
            plain or gzip.
        movies: ``movies.dat`` / ``movies.csv``; ``None`` = no genres (category 0).
        filters: keyword arguments of :func:`graphrec.data.filters.apply_filters`
            (``min_rating`` applies to the ``rating`` column).
        chunk_rows: rows parsed per chunk.

    Returns:
        The dataset; movie and user ids are kept as names, genres as category names.
    """
    ratings = require_file(ratings, "MovieLens ratings file")
    frame = read_ratings(ratings, chunk_rows=chunk_rows)
    inputs = [file_provenance(ratings)]
    frame, applied = filter_interactions(frame, filters, ratings)
    meta: dict[str, Any] = {"source": "movielens", "inputs": inputs, "filters": applied,
                            "timestamp_unit": "s"}
    category = attributes = None
    if movies is not None:
        movies = require_file(movies, "MovieLens movies file")
        genres = read_movies(movies)
        inputs.append(file_provenance(movies))
        rated = pd.unique(frame["item"].to_numpy())
        listed = np.fromiter(genres.keys(), dtype=np.int64, count=len(genres))
        if not np.isin(rated, listed).any():
            raise DataFormatError(
                movies, None,
                f"none of the {len(rated)} rated movies of {ratings.name} is listed here; use the movies "
                "file of the same MovieLens release",
            )
        category = {m: g[0] for m, g in genres.items() if g}
        attributes = genres
        meta["category_rule"] = "first genre; all genres are attributes"
    dataset = dataset_from_interactions(frame, item_category=category, item_attributes=attributes, meta=meta)
    if movies is not None:
        without = int((dataset.item_category[1:] == 0).sum())
        if without:
            dataset.meta["items_without_category"] = without
    return dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="PATH",
                        help="the release folder (ml-1m, ml-25m, ...) or its ratings.dat / ratings.csv")
    parser.add_argument("--movies", default="auto", metavar="FILE",
                        help="movies file; 'auto' (default) = movies.dat/.csv beside the ratings, "
                             "'none' = no genres")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    ratings = Path(args.input)
    if ratings.is_dir():
        found = [ratings / n for n in ("ratings.dat", "ratings.csv") if (ratings / n).is_file()]
        if not found:
            raise DataFormatError(ratings, None, "no ratings.dat or ratings.csv in this folder")
        ratings = found[0]
    movies: Path | None
    if args.movies == "none":
        movies = None
    elif args.movies == "auto":
        movies = default_movies_path(ratings)
        if not movies.is_file():
            movies = None
    else:
        movies = Path(args.movies)
    return convert_movielens(ratings, movies, filters=filters)
