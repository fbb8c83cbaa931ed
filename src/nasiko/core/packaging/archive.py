"""Safe extraction of untrusted agent archives (.zip, .tar.gz, .tar).

Everything is written into a private temporary folder inside the target directory and moved into
place only when the whole archive passed. Rules, each failing with ``InvalidPackage`` whose
``details["member"]`` names the offending entry:

- no absolute names, no ``..`` components, no drive letters;
- symbolic links are created last, must be relative and must resolve inside the tree;
  hard links (tar) must point to an earlier regular member and are materialised as copies;
- no device files, FIFOs or sockets;
- at most ``max_files`` members and ``max_bytes`` uncompressed bytes, counted while writing
  (headers of a zip bomb may lie).

When every member sits under one top-level folder, that folder is stripped and its name is
reported as ``ExtractResult.top_level`` (the package's folder name).
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from nasiko.errors import InvalidPackage

DEFAULT_MAX_FILES = 10_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
_CHUNK = 64 * 1024
# Metadata that archivers add and that is never part of a package.
_JUNK_TOP = {"__MACOSX"}

ArchiveFormat = Literal["zip", "tar"]


@dataclass(slots=True)
class ExtractResult:
    root: Path  # the directory the package now lives in (the ``dest`` argument)
    files: int  # regular files written
    bytes: int  # uncompressed bytes written
    top_level: str | None = None  # name of the single wrapping folder that was stripped
    symlinks: list[str] = field(default_factory=list)


def detect_format(path: Path) -> ArchiveFormat:
    """Tell a zip from a (compressed) tar by content, not by file name."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head[:2] == b"PK":
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    raise InvalidPackage(
        f"{path.name}: not a .zip or .tar.gz archive",
        details={"file": path.name, "hint": "upload a .zip, .tar.gz or .tar file"},
    )


def extract_archive(
    archive: Path,
    dest: Path,
    *,
    max_files: int = DEFAULT_MAX_FILES,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ExtractResult:
    """Extract ``archive`` into ``dest`` (created if missing; must not contain the same names)."""
    fmt = detect_format(archive)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        writer = _Writer(staging, max_files=max_files, max_bytes=max_bytes)
        try:
            if fmt == "zip":
                _extract_zip(archive, writer)
            else:
                _extract_tar(archive, writer)
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as exc:
            raise InvalidPackage(
                f"{archive.name}: the archive is corrupt ({exc})",
                details={"file": archive.name, "member": writer.current},
            ) from exc
        writer.finish_links()
        top = _single_top_level(staging)
        source = staging / top if top else staging
        for child in sorted(source.iterdir()):
            target = dest / child.name
            if target.exists() or target.is_symlink():
                raise FileExistsError(f"{target} already exists; extract into an empty directory")
            os.replace(child, target)
        return ExtractResult(
            root=dest,
            files=writer.files,
            bytes=writer.bytes,
            top_level=top,
            symlinks=[_strip(name, top) for name in writer.link_names],
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _strip(name: str, top: str | None) -> str:
    if top and name.startswith(top + "/"):
        return name[len(top) + 1 :]
    return name


def _single_top_level(staging: Path) -> str | None:
    entries = [p for p in staging.iterdir() if p.name not in _JUNK_TOP]
    for junk in staging.iterdir():
        if junk.name in _JUNK_TOP:
            shutil.rmtree(junk, ignore_errors=True)
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0].name
    return None


class _Writer:
    """Writes members below ``root`` and enforces the limits."""

    def __init__(self, root: Path, *, max_files: int, max_bytes: int) -> None:
        self.root = root
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.members = 0
        self.files = 0
        self.bytes = 0
        self.current: str | None = None
        self.regular: set[str] = set()
        self.pending_links: list[tuple[str, str]] = []
        self.link_names: list[str] = []

    def _fail(self, message: str, **details: object) -> InvalidPackage:
        return InvalidPackage(
            f"{self.current}: {message}", details={"member": self.current, **details}
        )

    def begin(self, raw_name: str) -> str | None:
        """Check one member name; returns its normalised relative path (None to skip it)."""
        self.current = raw_name
        self.members += 1
        if self.members > self.max_files:
            raise self._fail(
                f"the archive has more than {self.max_files} entries",
                limit=self.max_files,
                hint="remove build output, virtual environments and data files",
            )
        return self.normalise(raw_name)

    def normalise(self, raw_name: str) -> str | None:
        name = raw_name.replace("\\", "/")
        if "\x00" in name:
            raise self._fail("the entry name contains a NUL byte")
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            raise self._fail("absolute paths are not allowed in an agent package")
        parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
        if ".." in parts:
            raise self._fail("'..' path components are not allowed in an agent package")
        if not parts or parts[0] in _JUNK_TOP:
            return None
        return "/".join(parts)

    def _path(self, rel: str) -> Path:
        return self.root.joinpath(*rel.split("/"))

    def mkdir(self, rel: str) -> None:
        self._path(rel).mkdir(parents=True, exist_ok=True)

    def write(self, rel: str, src: IO[bytes], *, executable: bool) -> None:
        path = self._path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise self._fail("a file and a directory share this name")
        # No links exist yet (they are created last), so no parent can redirect this write.
        with path.open("wb") as out:
            while chunk := src.read(_CHUNK):
                self.bytes += len(chunk)
                if self.bytes > self.max_bytes:
                    raise self._fail(
                        f"the archive unpacks to more than {self.max_bytes} bytes",
                        limit=self.max_bytes,
                    )
                out.write(chunk)
        path.chmod(0o755 if executable else 0o644)
        self.files += 1
        self.regular.add(rel)

    def copy_of(self, rel: str, target: str) -> None:
        """A tar hard link: copy an earlier regular member (never link outside the tree)."""
        if target not in self.regular:
            raise self._fail(
                f"hard link to '{target}', which is not an earlier file in the archive",
                target=target,
            )
        with self._path(target).open("rb") as src:
            self.write(rel, src, executable=os.access(self._path(target), os.X_OK))

    def symlink(self, rel: str, target: str) -> None:
        if target.startswith("/") or "\x00" in target:
            raise self._fail(f"symbolic link to absolute path '{target}'", target=target)
        lexical = os.path.normpath(os.path.join(os.path.dirname(rel), target))
        if lexical == ".." or lexical.startswith("../"):
            raise self._fail(f"symbolic link '{target}' points outside the package", target=target)
        self.pending_links.append((rel, target))

    def finish_links(self) -> None:
        root_real = os.path.realpath(self.root)
        for rel, target in self.pending_links:
            self.current = rel
            path = self._path(rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() or path.is_symlink():
                raise self._fail("a symbolic link replaces another entry")
            path.symlink_to(target)
            self.link_names.append(rel)
        # Chains of links can escape even when each one looks inside on its own.
        for rel, target in self.pending_links:
            self.current = rel
            real = os.path.realpath(self._path(rel))
            if real != root_real and not real.startswith(root_real + os.sep):
                raise self._fail(
                    f"symbolic link '{target}' resolves outside the package", target=target
                )


def _extract_zip(archive: Path, writer: _Writer) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            rel = writer.begin(info.filename)
            if rel is None:
                continue
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK):
                raise writer._fail("device files, FIFOs and sockets are not allowed")
            if info.is_dir():
                writer.mkdir(rel)
            elif kind == stat.S_IFLNK:
                with zf.open(info) as fh:
                    target = fh.read(4096).decode("utf-8", "replace")
                writer.symlink(rel, target)
            else:
                with zf.open(info) as fh:
                    writer.write(rel, fh, executable=bool(mode & 0o111))


def _extract_tar(archive: Path, writer: _Writer) -> None:
    with tarfile.open(archive, mode="r:*") as tf:
        for member in tf:
            rel = writer.begin(member.name)
            if rel is None:
                continue
            if member.isdir():
                writer.mkdir(rel)
            elif member.isreg():
                fh = tf.extractfile(member)
                if fh is None:  # pragma: no cover - isreg() members always have data
                    raise writer._fail("unreadable file entry")
                with fh:
                    writer.write(rel, fh, executable=bool(member.mode & 0o111))
            elif member.issym():
                writer.symlink(rel, member.linkname)
            elif member.islnk():
                target = writer.normalise(member.linkname)
                if target is None:
                    raise writer._fail(f"hard link to '{member.linkname}' is not allowed")
                writer.copy_of(rel, target)
            else:
                raise writer._fail("device files, FIFOs and sockets are not allowed")
