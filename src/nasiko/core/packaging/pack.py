"""Pack a local agent folder into a .tar.gz, honouring ``.gitignore`` and ``.nasikoignore``.

Ignore files are read at every level of the tree with git's semantics (``pathspec``'s
``GitIgnoreSpec``): a pattern is relative to the folder of the file that holds it, the deepest
file with a matching pattern decides, ``!pattern`` re-includes, and an ignored folder is not
entered (so nothing under it can be re-included — as in git). ``.git/`` is always left out.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from nasiko.errors import InvalidInput

IGNORE_FILES = (".gitignore", ".nasikoignore")
ALWAYS_IGNORED = {".git"}


@dataclass(slots=True)
class PackResult:
    path: Path
    files: int
    bytes: int  # uncompressed bytes of the files packed
    included: list[str]  # relative posix paths, sorted


def _load_spec(folder: Path):  # type: ignore[no-untyped-def]  # pathspec is typed loosely
    from pathspec import GitIgnoreSpec

    lines: list[str] = []
    for name in IGNORE_FILES:
        candidate = folder / name
        if candidate.is_file():
            lines.extend(candidate.read_text(encoding="utf-8", errors="replace").splitlines())
    return GitIgnoreSpec.from_lines(lines) if lines else None


def _ignored(rel: str, is_dir: bool, specs: list[tuple[str, object]]) -> bool:
    # Deepest ignore file first: it overrides the ones above it.
    for base, spec in reversed(specs):
        sub = rel[len(base) + 1 :] if base else rel
        result = spec.check_file(sub + "/" if is_dir else sub)  # type: ignore[attr-defined]
        if result.include is not None:
            return bool(result.include)
    return False


def list_package_files(src: Path) -> list[str]:
    """Relative posix paths of the files (and symlinks) that packing ``src`` would include."""
    if not src.is_dir():
        raise InvalidInput(f"{src} is not a directory", details={"path": str(src)})
    included: list[str] = []
    spec_stack: dict[str, list[tuple[str, object]]] = {}

    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        folder = Path(dirpath)
        rel_dir = folder.relative_to(src).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        parent = rel_dir.rpartition("/")[0] if "/" in rel_dir else ""
        specs = list(spec_stack.get(parent, [])) if rel_dir else []
        own = _load_spec(folder)
        if own is not None:
            specs.append((rel_dir, own))
        spec_stack[rel_dir] = specs

        kept_dirs = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if d in ALWAYS_IGNORED or _ignored(rel, True, specs):
                continue
            if (folder / d).is_symlink():
                included.append(rel)  # packed as a link, not followed
                continue
            kept_dirs.append(d)
        dirnames[:] = kept_dirs
        for f in sorted(filenames):
            rel = f"{rel_dir}/{f}" if rel_dir else f
            path = folder / f
            # Sockets and FIFOs (a dev server's leftovers) are not package content.
            if not (path.is_file() or path.is_symlink()):
                continue
            if not _ignored(rel, False, specs):
                included.append(rel)
    return sorted(included)


def pack_directory(src: Path, out: Path) -> PackResult:
    """Write ``src``'s package files to the gzip tarball ``out`` (paths relative to ``src``)."""
    files = list_package_files(src)
    total = 0

    def _clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        # Uploads should not leak the packer's user names and ids.
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(out, mode="w:gz") as tf:
        for rel in files:
            path = src / rel
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
            tf.add(path, arcname=rel, recursive=False, filter=_clean)
    return PackResult(path=out, files=len(files), bytes=total, included=files)
