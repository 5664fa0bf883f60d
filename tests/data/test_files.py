"""Opening inputs as users download them: compressed forms, BOM, and clear errors for damaged files."""

from __future__ import annotations

import bz2
import gzip
import zipfile
from pathlib import Path

import pytest

from graphrec.data.errors import DataFormatError
from graphrec.data.readers.files import (
    compression,
    iter_lines,
    open_text,
    plain_name,
    plain_suffix,
    read_text,
)

TEXT = '"user","item"\r\n"a","x"\r\n"b","y"\r\n'
BOM = b"\xef\xbb\xbf"


def _forms(tmp_path: Path, data: bytes, name: str = "t.csv") -> dict[str, Path]:
    """The same bytes plain, gzip, bzip2 and zipped (the zip with a macOS metadata entry)."""
    plain = tmp_path / name
    plain.write_bytes(data)
    gz = tmp_path / f"{name}.gz"
    gz.write_bytes(gzip.compress(data))
    bz = tmp_path / f"{name}.bz2"
    bz.write_bytes(bz2.compress(data))
    zipped = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr(name, data)
        archive.writestr(f"__MACOSX/._{name}", b"\x00\x05\x16\x07")
    return {"plain": plain, "gzip": gz, "bz2": bz, "zip": zipped}


@pytest.mark.parametrize("bom", [b"", BOM])
def test_every_form_reads_the_same_text(tmp_path: Path, bom: bytes) -> None:
    for kind, path in _forms(tmp_path, bom + TEXT.encode()).items():
        assert compression(path) == (None if kind == "plain" else kind)
        assert read_text(path) == TEXT  # BOM dropped, line ends kept
        assert [line for _, line in iter_lines(path)] == ['"user","item"', '"a","x"', '"b","y"']
        with open_text(path) as fh:
            assert fh.readline() == '"user","item"\r\n'


def test_suffixes_behind_compression() -> None:
    assert plain_name("ratings.csv.gz") == "ratings.csv" and plain_suffix("x.CSV.zip") == ".csv"
    assert plain_suffix("Beauty.txt") == ".txt" and plain_name(".gz") == ".gz"


def test_zip_with_several_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x")
        archive.writestr("b.csv", "y")
    with pytest.raises(DataFormatError, match=r"exactly one file, this one holds 2 \(\['a.csv', 'b.csv'\]\)"):
        read_text(path)


def test_truncated_and_corrupt_archives(tmp_path: Path) -> None:
    data = ("".join(f"{i},{i}\n" for i in range(20000))).encode()
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(data)[:-20])
    with pytest.raises(DataFormatError, match="truncated") as info:
        list(iter_lines(gz))
    assert info.value.path == str(gz) and isinstance(info.value.line, int) and info.value.line > 1
    zipped = tmp_path / "t.csv.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("t.csv", data)
    zipped.write_bytes(zipped.read_bytes()[:-30])  # the archive's directory is at its end
    with pytest.raises(DataFormatError, match="corrupt zip archive") as info:
        read_text(zipped)
    assert info.value.path == str(zipped)
    bz = tmp_path / "t.csv.bz2"
    bz.write_bytes(bz2.compress(data)[:-30])
    with pytest.raises(DataFormatError, match="download") as info:
        read_text(bz)
    assert info.value.path == str(bz)


def test_undecodable_bytes_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(b"1 2 3\n" * 5000 + b"4 \xff 5\n")
    with pytest.raises(DataFormatError) as info:
        read_text(path)
    assert info.value.line == 5001 and "not valid utf-8 text" in str(info.value)
    assert str(info.value).startswith(f"{path}, line 5001")
    with pytest.raises(DataFormatError) as info:
        list(iter_lines(path))
    assert info.value.line == 5001
    assert [line for _, line in iter_lines(path, "latin-1")][-1] == "4 \xff 5"  # Latin-1 reads any byte


def test_binary_and_utf16_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "data.csv"
    binary.write_bytes(b"user,item\n\x00\x01\x02")
    with pytest.raises(DataFormatError, match="binary data") as info:
        read_text(binary)
    assert info.value.line == 2
    utf16 = tmp_path / "u.csv"
    utf16.write_bytes("user,item\n".encode("utf-16"))
    with pytest.raises(DataFormatError, match="UTF-16"):
        read_text(utf16)
