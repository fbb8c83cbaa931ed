"""Packing a folder honours .gitignore and .nasikoignore like git does."""

from __future__ import annotations

from pathlib import Path

from nasiko.core.packaging import extract_archive, list_package_files, pack_directory


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_ignore_rules(tmp_path: Path) -> None:
    src = tmp_path / "agent"
    write(
        src,
        {
            "Dockerfile": "FROM python\n",
            ".gitignore": "*.pyc\n__pycache__/\n.venv/\n!keep.pyc\n/build\n",
            ".nasikoignore": "secrets.env\ndocs/\n",
            "src/main.py": "",
            "src/main.pyc": "",
            "src/keep.pyc": "",
            "src/__pycache__/main.cpython-311.pyc": "",
            "src/.gitignore": "local.txt\n!important.pyc\n",
            "src/local.txt": "",
            "src/important.pyc": "",
            "src/build/out.txt": "",  # /build is anchored to the root
            "build/out.txt": "",
            ".venv/bin/python": "",
            "secrets.env": "",
            "docs/readme.md": "",
            ".git/HEAD": "ref: refs/heads/main\n",
        },
    )
    assert list_package_files(src) == [
        ".gitignore",
        ".nasikoignore",
        "Dockerfile",
        "src/.gitignore",
        "src/build/out.txt",
        "src/important.pyc",
        "src/keep.pyc",
        "src/main.py",
    ]


def test_pack_roundtrip(tmp_path: Path) -> None:
    src = tmp_path / "agent"
    write(
        src,
        {
            "Dockerfile": "FROM python\n",
            "src/main.py": "print('hi')\n",
            ".gitignore": "*.log\n",
            "x.log": "noise",
        },
    )
    (src / "run").symlink_to("src/main.py")
    result = pack_directory(src, tmp_path / "agent.tar.gz")
    assert result.included == [".gitignore", "Dockerfile", "run", "src/main.py"]
    assert result.bytes == sum(
        (src / f).stat().st_size for f in (".gitignore", "Dockerfile", "src/main.py")
    )

    out = tmp_path / "out"
    extracted = extract_archive(result.path, out)
    assert extracted.top_level is None
    assert (out / "src" / "main.py").read_text() == "print('hi')\n"
    assert (out / "run").is_symlink() and (out / "run").read_text() == "print('hi')\n"
    assert not (out / "x.log").exists()
