"""Opening input files as users download them: plain or compressed, with or without a BOM.

Every reader and converter opens its inputs here, so that each one accepts the
same files:

* plain text, or compressed with gzip (``.gz``), bzip2 (``.bz2``) or zip (a
  ``.zip`` archive holding one file; macOS ``__MACOSX/`` entries and folders are
  ignored) — recognised from the first bytes, whatever the suffix;
* UTF-8 with or without a byte-order mark (the BOM is dropped), or the encoding a
  format prescribes (MovieLens ``.dat``: Latin-1).

Problems become one :class:`~graphrec.data.errors.DataFormatError` naming the
file and, where there is one, the line: a truncated or corrupt compressed stream,
a zip archive with several files, UTF-16 text, binary data, bytes that are not
valid text in the expected encoding (the line is found by a second, line-by-line
pass, on the error path only).

Example::

    with open_text("ta_feng.csv.zip") as fh:   # the zipped Kaggle CSV, BOM dropped
        header = fh.readline()
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

from graphrec.data.errors import DataFormatError

PathLike = str | os.PathLike[str]

#: compression name -> the bytes a file of that kind starts with
MAGIC = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "zip": b"PK\x03\x04"}
#: file-name suffixes of the compressed forms (dropped to find the format's own suffix)
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zip")
#: how much of the (decompressed) start is checked for binary data and UTF-16
_SNIFF_BYTES = 1 << 16
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def compression(path: PathLike) -> str | None:
    """``"gzip"``, ``"bz2"``, ``"zip"`` or ``None`` (plain), from the file's first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == MAGIC["gzip"]:
        return "gzip"
    if head[:3] == MAGIC["bz2"]:
        return "bz2"
    if head == MAGIC["zip"] or head == b"PK\x05\x06":  # the second: an empty archive
        return "zip"
    return None


def plain_name(path: PathLike) -> str:
    """The file name without a compression suffix (``ratings.csv.gz`` -> ``ratings.csv``)."""
    name = Path(path).name
    for suffix in COMPRESSED_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def plain_suffix(path: PathLike) -> str:
    """The format suffix, lower case, behind any compression suffix (``x.CSV.gz`` -> ``.csv``)."""
    return Path(plain_name(path)).suffix.lower()


def _zip_member(path: Path, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [m for m in archive.infolist()
               if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
    if len(members) != 1:
        names = [m.filename for m in members][:10]
        raise DataFormatError(
            path, None, f"a zip archive must hold exactly one file, this one holds {len(members)} "
                        f"({names}); extract the file you mean and pass it",
        )
    return members[0]


@contextmanager
def open_binary(path: PathLike) -> Iterator[IO[bytes]]:
    """The decompressed bytes of ``path`` (plain, gzip, bzip2 or one-file zip)."""
    path = Path(path)
    kind = compression(path)
    with ExitStack() as stack:
        opened: Any
        try:
            if kind == "gzip":
                opened = stack.enter_context(gzip.open(path, "rb"))
            elif kind == "bz2":
                opened = stack.enter_context(bz2.open(path, "rb"))
            elif kind == "zip":
                archive = stack.enter_context(zipfile.ZipFile(path))
                opened = stack.enter_context(archive.open(_zip_member(path, archive)))
            else:
                opened = stack.enter_context(open(path, "rb"))
        except zipfile.BadZipFile as err:
            raise DataFormatError(path, None, f"corrupt zip archive ({err}); download the file again") \
                from err
        stream: IO[bytes] = opened
        yield stream


def _python_encoding(encoding: str) -> str:
    """``utf-8`` reads with ``utf-8-sig``, which drops a byte-order mark when there is one."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def check_text(path: PathLike) -> None:
    """Refuse UTF-16 text and binary data (NUL bytes) at the start of ``path``, naming the line."""
    path = Path(path)
    head = b""
    with open_binary(path) as fh:
        try:
            while len(head) < _SNIFF_BYTES:
                block = fh.read1(_SNIFF_BYTES - len(head)) if hasattr(fh, "read1") else fh.read(_SNIFF_BYTES)
                if not block:
                    break
                head += block
        except (EOFError, zlib.error, zipfile.BadZipFile, OSError):
            pass  # a damaged stream: the reader meets it again and names the line
    if head.startswith(_UTF16_BOMS):
        raise DataFormatError(path, None, "UTF-16 text; save it as UTF-8 (or convert it with iconv)")
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise DataFormatError(path, line, "binary data (a NUL byte), not a text file; is this the right "
                                          "file, or a compressed form other than gzip/bzip2/zip?")


@contextmanager
def open_text(path: PathLike, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """``path`` as text (decompressed, BOM dropped, newlines kept as written).

    Raises:
        DataFormatError: binary data or UTF-16 at the start, a zip archive with
            several files, a corrupt archive.
    """
    check_text(path)
    with open_binary(path) as raw:
        with io.TextIOWrapper(raw, encoding=_python_encoding(encoding), newline="") as text:
            yield text


def decode_error(path: PathLike, encoding: str) -> DataFormatError:
    """The first line of ``path`` that is not valid ``encoding`` text, as an error (slow; error path)."""
    path = Path(path)
    decoder = _python_encoding(encoding)
    try:
        with open_binary(path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                try:
                    raw.decode(decoder)
                except UnicodeDecodeError as err:
                    return DataFormatError(
                        path, lineno, f"not valid {encoding} text (byte {raw[err.start:err.start + 1]!r} at "
                                      f"column {err.start + 1}: {err.reason}); is this the right file, saved "
                                      f"as {encoding}?")
    except (EOFError, zlib.error, zipfile.BadZipFile, OSError):
        pass  # the stream breaks after the last good line: report the file only
    return DataFormatError(path, None, f"not valid {encoding} text; is this the right file?")


def _as_data_error(path: PathLike, encoding: str, err: BaseException, line: int | None) -> BaseException:
    """``err`` as a :class:`DataFormatError` when it means a damaged or undecodable file, else ``err``."""
    after = "" if line is None else f" after line {line}"
    where = None if line is None else line + 1
    if isinstance(err, UnicodeDecodeError):
        return decode_error(path, encoding)
    if isinstance(err, EOFError):
        return DataFormatError(path, where, f"the compressed stream ends early{after}: the file is truncated "
                                            "(an interrupted download?); download it again")
    if isinstance(err, (zlib.error, zipfile.BadZipFile, gzip.BadGzipFile)):
        return DataFormatError(path, where,
                               f"corrupt compressed data{after} ({err}); download the file again")
    if isinstance(err, OSError) and err.filename is None and not isinstance(err, FileNotFoundError
                                                                            | PermissionError):
        # bz2 reports a damaged stream as a bare OSError ("Invalid data stream")
        return DataFormatError(path, where, f"cannot be read{after} ({err}); download the file again")
    return err


#: what :func:`stream_errors` converts
_CONVERTED = (UnicodeDecodeError, EOFError, zlib.error, zipfile.BadZipFile, OSError)


@contextmanager
def stream_errors(path: PathLike, encoding: str = "utf-8", line: int | None = None) -> Iterator[None]:
    """Turn a damaged compressed stream or undecodable bytes met inside the block into one error.

    Args:
        path: the file read inside the block.
        encoding: its text encoding (for the message and the search of the bad line).
        line: the last line read when the stream broke, when the caller knows it.
    """
    try:
        yield
    except _CONVERTED as err:
        converted = _as_data_error(path, encoding, err, line)
        if converted is err:
            raise
        raise converted from err


def iter_lines(path: PathLike, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` (1-based, line end stripped) of a plain or compressed file.

    A truncated or corrupt stream and undecodable bytes become a
    :class:`DataFormatError` naming the line.
    """
    lineno = 0
    try:
        with open_text(path, encoding) as fh:
            for lineno, line in enumerate(fh, start=1):  # noqa: B007 (used in the handler)
                yield lineno, line.rstrip("\r\n")
    except _CONVERTED as err:
        converted = _as_data_error(path, encoding, err, lineno)
        if converted is err:
            raise
        raise converted from err


def read_text(path: PathLike, encoding: str = "utf-8") -> str:
    """The whole text of ``path`` (decompressed, BOM dropped); errors as in :func:`iter_lines`."""
    with stream_errors(path, encoding), open_text(path, encoding) as fh:
        return fh.read()


__all__ = ["COMPRESSED_SUFFIXES", "MAGIC", "check_text", "compression", "decode_error", "iter_lines",
           "open_binary", "open_text", "plain_name", "plain_suffix", "read_text", "stream_errors"]
