"""Untrusted archives: nothing is ever written outside the target directory."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from nasiko.core.packaging import extract_archive
from nasiko.errors import InvalidPackage


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def zip_symlink(path: Path, name: str, target: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pkg/Dockerfile", b"FROM python\n")
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, target)
    return path


def make_tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None):
    data = data or {}
    with tarfile.open(path, "w:gz") as tf:
        for info in members:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
            else:
                tf.addfile(info)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def outside_is_untouched(tmp_path: Path, dest: Path) -> None:
    # Only the archive and the (empty) destination exist next to each other.
    assert (
        sorted(p.name for p in tmp_path.iterdir() if p != dest and p.suffix not in (".zip", ".gz"))
        == []
    )
    assert list(dest.iterdir()) == []


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    d = tmp_path / "dest"
    d.mkdir()
    return d


def test_zip_slip_extracts_nothing(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"ok.txt": b"fine", "../evil.txt": b"pwned"})
    with pytest.raises(InvalidPackage) as err:
        extract_archive(archive, dest)
    assert err.value.details["member"] == "../evil.txt"
    assert "'..'" in err.value.message
    outside_is_untouched(tmp_path, dest)


def test_absolute_zip_member_rejected(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"/tmp/evil.txt": b"x"})
    with pytest.raises(InvalidPackage, match="absolute paths") as err:
        extract_archive(archive, dest)
    assert err.value.details["member"] == "/tmp/evil.txt"
    outside_is_untouched(tmp_path, dest)


def test_windows_style_traversal_rejected(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"pkg\\..\\..\\evil.txt": b"x"})
    with pytest.raises(InvalidPackage):
        extract_archive(archive, dest)
    outside_is_untouched(tmp_path, dest)


def test_tar_traversal_rejected(tmp_path: Path, dest: Path) -> None:
    archive = make_tar(
        tmp_path / "a.tar.gz", [entry("pkg/../../evil.txt")], {"pkg/../../evil.txt": b"x"}
    )
    with pytest.raises(InvalidPackage) as err:
        extract_archive(archive, dest)
    assert err.value.details["member"] == "pkg/../../evil.txt"
    outside_is_untouched(tmp_path, dest)


@pytest.mark.parametrize("target", ["../../etc", "/etc/passwd"])
def test_tar_symlink_escape_rejected(tmp_path: Path, dest: Path, target: str) -> None:
    archive = make_tar(
        tmp_path / "a.tar.gz",
        [entry("pkg/Dockerfile"), entry("pkg/link", tarfile.SYMTYPE, target)],
        {"pkg/Dockerfile": b"FROM python\n"},
    )
    with pytest.raises(InvalidPackage) as err:
        extract_archive(archive, dest)
    assert err.value.details["member"] == "pkg/link"
    outside_is_untouched(tmp_path, dest)


def test_symlink_chain_escape_rejected(tmp_path: Path, dest: Path) -> None:
    # Each link looks harmless alone: a/d -> ../x, e -> a/d/../.. ; together e escapes.
    archive = make_tar(
        tmp_path / "a.tar.gz",
        [
            entry("a", tarfile.DIRTYPE),
            entry("x", tarfile.DIRTYPE),
            entry("a/d", tarfile.SYMTYPE, "../x"),
            entry("e", tarfile.SYMTYPE, "a/d/../.."),
        ],
    )
    with pytest.raises(InvalidPackage, match="resolves outside") as err:
        extract_archive(archive, dest)
    assert err.value.details["member"] == "e"
    outside_is_untouched(tmp_path, dest)


def test_zip_symlink_escape_rejected(tmp_path: Path, dest: Path) -> None:
    archive = zip_symlink(tmp_path / "a.zip", "pkg/secrets", "../../../etc/shadow")
    with pytest.raises(InvalidPackage, match="outside") as err:
        extract_archive(archive, dest)
    assert err.value.details["member"] == "pkg/secrets"
    outside_is_untouched(tmp_path, dest)


def test_internal_symlink_kept(tmp_path: Path, dest: Path) -> None:
    archive = zip_symlink(tmp_path / "a.zip", "pkg/Dockerfile.link", "Dockerfile")
    result = extract_archive(archive, dest)
    link = dest / "Dockerfile.link"
    assert link.is_symlink() and link.read_text() == "FROM python\n"
    assert result.symlinks == ["Dockerfile.link"]


def test_tar_hardlink_outside_rejected(tmp_path: Path, dest: Path) -> None:
    archive = make_tar(tmp_path / "a.tar.gz", [entry("passwd", tarfile.LNKTYPE, "/etc/passwd")])
    with pytest.raises(InvalidPackage) as err:
        extract_archive(archive, dest)
    assert err.value.details["member"] == "passwd"
    outside_is_untouched(tmp_path, dest)


def test_tar_hardlink_inside_becomes_copy(tmp_path: Path, dest: Path) -> None:
    archive = make_tar(
        tmp_path / "a.tar.gz",
        [entry("a.txt"), entry("b.txt", tarfile.LNKTYPE, "a.txt")],
        {"a.txt": b"same"},
    )
    extract_archive(archive, dest)
    assert (dest / "b.txt").read_bytes() == b"same"
    assert (dest / "a.txt").stat().st_ino != (dest / "b.txt").stat().st_ino


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_device_and_fifo_rejected(tmp_path: Path, dest: Path, kind: bytes) -> None:
    archive = make_tar(tmp_path / "a.tar.gz", [entry("pkg/dev", kind)])
    with pytest.raises(InvalidPackage, match="device files") as err:
        extract_archive(archive, dest)
    assert err.value.details["member"] == "pkg/dev"
    outside_is_untouched(tmp_path, dest)


def test_zip_bomb_stops_at_byte_limit(tmp_path: Path, dest: Path) -> None:
    # 8 MiB of zeros compresses to a few KiB.
    archive = make_zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (8 * 1024 * 1024)})
    assert archive.stat().st_size < 64 * 1024
    with pytest.raises(InvalidPackage, match="more than 1048576 bytes") as err:
        extract_archive(archive, dest, max_bytes=1024 * 1024)
    assert err.value.details == {"member": "zeros.bin", "limit": 1024 * 1024}
    outside_is_untouched(tmp_path, dest)


def test_byte_limit_counts_all_members(tmp_path: Path, dest: Path) -> None:
    members = {f"f{i}.txt": b"x" * 400 for i in range(3)}
    archive = make_zip(tmp_path / "a.zip", members)
    with pytest.raises(InvalidPackage) as err:
        extract_archive(archive, dest, max_bytes=1000)
    assert err.value.details["member"] == "f2.txt"


def test_file_count_limit(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {f"f{i}.txt": b"x" for i in range(6)})
    with pytest.raises(InvalidPackage, match="more than 5 entries"):
        extract_archive(archive, dest, max_files=5)
    outside_is_untouched(tmp_path, dest)


def test_single_top_level_folder_is_stripped(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip",
        {
            "echo-agent/Dockerfile": b"FROM python\n",
            "echo-agent/src/main.py": b"print(1)\n",
            "__MACOSX/echo-agent/._Dockerfile": b"junk",
        },
    )
    result = extract_archive(archive, dest)
    assert result.top_level == "echo-agent"
    assert (dest / "Dockerfile").read_text() == "FROM python\n"
    assert (dest / "src" / "main.py").is_file()
    assert sorted(p.name for p in dest.iterdir()) == ["Dockerfile", "src"]
    assert (result.files, result.bytes) == (2, len(b"FROM python\n") + len(b"print(1)\n"))


def test_flat_archive_kept_as_is(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"Dockerfile": b"FROM x\n", "app.py": b""})
    result = extract_archive(archive, dest)
    assert result.top_level is None
    assert sorted(p.name for p in dest.iterdir()) == ["Dockerfile", "app.py"]


def test_executable_bit_kept_setuid_dropped(tmp_path: Path, dest: Path) -> None:
    info = entry("run.sh")
    info.mode = 0o4755
    archive = make_tar(tmp_path / "a.tar.gz", [info], {"run.sh": b"#!/bin/sh\n"})
    extract_archive(archive, dest)
    assert stat.S_IMODE((dest / "run.sh").stat().st_mode) == 0o755


def test_corrupt_and_foreign_files_rejected(tmp_path: Path, dest: Path) -> None:
    good = make_zip(tmp_path / "a.zip", {"x.txt": os.urandom(5000)})
    broken = tmp_path / "broken.zip"
    broken.write_bytes(good.read_bytes()[:200])
    with pytest.raises(InvalidPackage, match="corrupt"):
        extract_archive(broken, dest)
    text = tmp_path / "notes.gz"
    text.write_text("just text")
    with pytest.raises(InvalidPackage, match=r"not a \.zip or \.tar\.gz"):
        extract_archive(text, dest)
    assert list(dest.iterdir()) == []
