"""The batch ZIP unpacker: entries go to fresh temp files whatever their names, links and encrypted
entries are refused one by one, a bomb or too many entries refuse the whole archive."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from fastapi_app.core.errors import ArchiveBomb, BatchTooManyFiles, UnsupportedFileType
from fastapi_app.extractors.base import ArchiveLimits
from fastapi_app.files.batch_archive import ArchiveEntry, unpack_batch_archive
from fastapi_app.services.idempotency_service import check_key
from tests.support import bombs


def _unpack(path: Path, tmp_path: Path, **kwargs: int) -> list[ArchiveEntry]:
    counter = iter(range(10_000))
    temp = tmp_path / "temp"
    temp.mkdir(exist_ok=True)
    entries: list[ArchiveEntry] = []
    return unpack_batch_archive(
        path,
        ArchiveLimits(),
        lambda: temp / f"entry-{next(counter)}.part",
        max_files=kwargs.get("max_files", 10),
        max_file_size=kwargs.get("max_file_size", 1024 * 1024),
        entries=entries,
    )


def _mark_encrypted(path: Path, name: bytes) -> None:
    """Set the "encrypted" flag of one entry in both of its headers (zipfile clears it when writing)."""
    data = bytearray(path.read_bytes())
    for signature, flag_offset, name_offset in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if data[start + name_offset : start + name_offset + len(name)] == name:
                data[start + flag_offset] |= 0x1
            start += 4
    path.write_bytes(bytes(data))


def test_hostile_names_never_leave_the_temp_directory(tmp_path: Path) -> None:
    path = tmp_path / "batch.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../../../tmp/evil.csv", b"a,b\n1,2\n")
        archive.writestr("/etc/cron.d/absolute.csv", b"c\n")
        archive.writestr("dir/", b"")
        link = zipfile.ZipInfo("link.csv")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, b"/etc/passwd")
        archive.writestr("secret.csv", b"x")
        archive.writestr("big.csv", b"0" * 2048)
    _mark_encrypted(path, b"secret.csv")
    entries = _unpack(path, tmp_path, max_file_size=1024)
    by_name = {entry.upload.filename: entry for entry in entries}
    assert set(by_name) == {"../../../../tmp/evil.csv", "/etc/cron.d/absolute.csv", "link.csv", "secret.csv", "big.csv"}
    evil = by_name["../../../../tmp/evil.csv"].upload
    assert evil.temp_path.parent == tmp_path / "temp" and evil.temp_path.read_bytes() == b"a,b\n1,2\n"
    assert evil.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest() and evil.size == 8
    assert not Path("/tmp/evil.csv").exists()
    codes = {name: entry.error.error_code if entry.error else None for name, entry in by_name.items()}
    assert codes == {
        "../../../../tmp/evil.csv": None,
        "/etc/cron.d/absolute.csv": None,
        "link.csv": "UNSAFE_ARCHIVE_ENTRY",
        "secret.csv": "UNSAFE_ARCHIVE_ENTRY",
        "big.csv": "FILE_TOO_LARGE",
    }
    assert not by_name["link.csv"].upload.temp_path.exists()


def test_a_bomb_or_too_many_entries_refuse_the_archive(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        bombs._stream_member(archive, "zeros.csv", b"", b"0", 64 * bombs.MiB, b"")
    with pytest.raises(ArchiveBomb):
        _unpack(bomb, tmp_path)
    lying = bombs.lying_directory_xlsx(tmp_path / "lying.zip")
    with pytest.raises(ArchiveBomb):
        _unpack(lying, tmp_path, max_file_size=64 * bombs.MiB)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for n in range(11):
            archive.writestr(f"{n}.csv", b"a\n")
    with pytest.raises(BatchTooManyFiles):
        _unpack(many, tmp_path)
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"%PDF-1.7 not a zip")
    with pytest.raises(UnsupportedFileType):
        _unpack(not_zip, tmp_path)


@pytest.mark.parametrize("key", ["a", "0f1e-2d3c_4b5a.6978:x", "k" * 255])
def test_idempotency_keys_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "k" * 256, "with space", "한글", "a/b", "a\nb"])
def test_idempotency_keys_refused(key: str) -> None:
    with pytest.raises(Exception) as refused:
        check_key(key)
    assert getattr(refused.value, "error_code", None) == "INVALID_IDEMPOTENCY_KEY"
