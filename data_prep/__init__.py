"""Converters from raw public dumps to the canonical graphrec dataset.

One module per source, each a plain function and a ``graphrec prepare <source>``
subcommand (contract in :mod:`graphrec.data.sources`):

* :func:`data_prep.amazon.convert_amazon` — Amazon reviews 2014/2018/2023 + metadata (preset ``s3rec``);
* :func:`data_prep.movielens.convert_movielens` — MovieLens ml-1m/10m (``::``) and ml-20m/25m/32m (CSV);
* :func:`data_prep.tafeng.convert_tafeng` — Ta-Feng grocery transactions;
* :func:`data_prep.tmall.convert_tmall` — Tmall IJCAI-15 user logs (``mmdd`` days, year 2014);
* :func:`data_prep.taobao.convert_taobao` — Taobao UserBehavior;
* :func:`data_prep.comirec.convert_comirec` — ComiRec release folders, optionally with their user split;
* :func:`data_prep.build_graphs.build_all_graphs` — the graphs of a prepared dataset
  (category raw + Eq. 1, item transitions) for scripted pipelines.

They read their inputs as users download them (plain, gzip, bzip2 or a one-file
zip; with or without a UTF-8 byte-order mark; quoted fields), stream them in
bounded chunks, record each input's sha256 and every filter's counts in ``meta``,
raise :class:`graphrec.data.errors.DataFormatError` naming the file and line on
bad input (a number that is not finite or beyond the int64 range included), and
never write files themselves — except :mod:`data_prep.build_graphs`, which writes
only into a folder it made (marker kind ``"graphs"``; ``--overwrite`` to replace).
"""
