"""extractors.archive.SafeZip: every zip member read under caps on declared size, ratio and the bytes
actually inflated."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from fastapi_app.extractors.archive import SafeZip
from fastapi_app.extractors.base import ArchiveBombError, ArchiveLimits
from tests.support import bombs

MiB = bombs.MiB
# Caps that let anything through, to test one check at a time.
OPEN = ArchiveLimits(max_member_bytes=1 << 40, max_total_bytes=1 << 41, max_ratio=10**9)


@pytest.fixture(scope="module")
def mimetype_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bombs.ods_mimetype_bomb(tmp_path_factory.mktemp("zip") / "bomb.ods", inflated=64 * MiB)


@pytest.fixture(scope="module")
def lying(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bombs.lying_directory_xlsx(tmp_path_factory.mktemp("zip") / "lying.xlsx", real=8 * MiB, declared=1000)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_declared_ratio_is_refused_on_open(mimetype_bomb: Path) -> None:
    with pytest.raises(ArchiveBombError) as caught:
        SafeZip(mimetype_bomb, ArchiveLimits())
    assert caught.value.error_code == "ARCHIVE_BOMB"
    assert "'mimetype'" in caught.value.message and "more than 200 times" in caught.value.message


def test_declared_member_size_is_refused_on_open(tmp_path: Path) -> None:
    path = _zip(tmp_path / "a.zip", {"big.xml": b"<a>" + bytes(range(256)) * 8192 + b"</a>"})  # 2 MiB
    with pytest.raises(ArchiveBombError, match=r"declares 2\.0 MiB, above the limit of 1\.0 MiB per member"):
        SafeZip(path, ArchiveLimits(max_member_bytes=MiB))


def test_declared_total_is_refused_on_open(tmp_path: Path) -> None:
    members = {f"part{i}.bin": bytes(range(256)) * 2048 for i in range(3)}  # 3 x 512 KiB
    with pytest.raises(ArchiveBombError, match=r"1\.5 MiB in total"):
        SafeZip(_zip(tmp_path / "a.zip", members), ArchiveLimits(max_total_bytes=MiB))


def test_small_members_may_compress_well(tmp_path: Path) -> None:
    # 512 KiB of zeros deflate ~1000:1; below the 1 MiB grace that is an ordinary part.
    path = _zip(tmp_path / "a.zip", {"zeros.bin": bytes(512 * 1024), "b.xml": b"<b/>"})
    with SafeZip(path, ArchiveLimits()) as archive:
        archive.verify()
        assert archive.inflated_total == 512 * 1024 + 4


def test_bounded_read_takes_only_what_is_asked(mimetype_bomb: Path) -> None:
    with SafeZip(mimetype_bomb, OPEN) as archive:
        tracemalloc.start()
        try:
            head = archive.read("mimetype", 256)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert head.startswith(bombs.ODS_MIME) and len(head) == 256
    assert peak < 4 * MiB, f"reading 256 bytes of a 64 MiB member allocated {peak / MiB:.1f} MiB"


def test_whole_member_reads_are_refused(mimetype_bomb: Path) -> None:
    with SafeZip(mimetype_bomb, OPEN) as archive, archive.open("mimetype") as reader:
        with pytest.raises(io.UnsupportedOperation):
            reader.readall()
        with pytest.raises(ArchiveBombError, match=r"larger than 1\.0 MiB"):
            archive.read_small("mimetype", MiB)


def test_inflated_bytes_are_counted_against_the_ratio(mimetype_bomb: Path) -> None:
    # The declared sizes are not checked here (huge caps at open); the streaming count still trips.
    with SafeZip(mimetype_bomb, OPEN) as archive:
        archive.limits = ArchiveLimits(max_member_bytes=1 << 40, max_total_bytes=1 << 41, max_ratio=200)
        with pytest.raises(ArchiveBombError, match="inflates more than 200 times"), archive.open("mimetype") as r:
            r.drain()


def test_a_directory_that_lies_about_the_size_is_caught_when_read(lying: Path) -> None:
    with zipfile.ZipFile(lying) as plain:
        assert plain.getinfo(bombs.SHEET_MEMBER).file_size == 1000  # what checks of the directory see
    with (
        SafeZip(lying, ArchiveLimits()) as archive,  # the declared sizes pass
        pytest.raises(ArchiveBombError, match="inflates past the 1000 bytes its directory declares"),
    ):
        archive.verify()


def test_inflated_member_cap_holds_whatever_the_directory_says(lying: Path) -> None:
    limits = ArchiveLimits(max_member_bytes=4000, max_total_bytes=1 << 41, max_ratio=10**9)
    with SafeZip(lying, limits) as archive, archive.open(bombs.SHEET_MEMBER) as reader:
        reader._declared = 1 << 40  # as if the directory claimed enough: the per-member cap still holds
        with pytest.raises(ArchiveBombError, match="limit per member"):
            reader.drain()
        assert reader.inflated <= 4000 + 256 * 1024  # stopped within one chunk of the cap


def test_total_cap_counts_real_bytes(tmp_path: Path) -> None:
    members = {f"part{i}.bin": bytes(range(256)) * 2048 for i in range(3)}
    with SafeZip(_zip(tmp_path / "a.zip", members), ArchiveLimits()) as archive:
        archive.limits = ArchiveLimits(max_total_bytes=MiB)
        with pytest.raises(ArchiveBombError, match="in total"):
            archive.verify()
