"""Getting an agent package onto disk: uploaded archives and git repositories."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from nasiko.core.ports import LogSink
from nasiko.errors import InvalidInput, InvalidPackage, PayloadTooLarge

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")


def archive_suffix(filename: str) -> str:
    lower = filename.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    raise InvalidInput(
        f"'{filename}' is not a .zip or .tar.gz archive", details=[{"field": "file"}]
    )


async def save_stream(chunks: AsyncIterator[bytes], dest: Path, *, limit: int) -> int:
    """Stream an upload to disk, never holding it in memory; refuses past ``limit`` bytes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with dest.open("wb") as fh:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                fh.close()
                dest.unlink(missing_ok=True)
                raise PayloadTooLarge(
                    f"the archive is larger than the {limit // (1024 * 1024)} MiB limit",
                    details={"limit_bytes": limit},
                )
            await asyncio.to_thread(fh.write, chunk)
    if size == 0:
        dest.unlink(missing_ok=True)
        raise InvalidInput("the uploaded file is empty", details=[{"field": "file"}])
    return size


def check_git_url(url: str) -> None:
    if re.match(r"^(https?|ssh|git|file)://", url) or re.match(r"^[\w.-]+@[\w.-]+:", url):
        return
    raise InvalidInput(
        "the git URL must be https://, ssh://, git://, file:// or user@host:path",
        details=[{"field": "url"}],
    )


def github_host(url: str, api_url: str, web_url: str | None = None) -> bool:
    """Is ``url`` on the configured GitHub (github.com, or an Enterprise server)?"""
    host = urlsplit(url).hostname or ""
    api_host = urlsplit(api_url).hostname or ""
    web_host = urlsplit(web_url).hostname if web_url else None
    return (
        host == "github.com"
        or (api_host.startswith("api.") and host == api_host[4:])
        or (web_host is not None and host == web_host)
    )


async def git_clone(
    url: str,
    dest: Path,
    *,
    ref: str | None,
    token: str | None,
    log: LogSink,
    timeout: float = 300,  # noqa: ASYNC109 - bounds each git command, not the whole call
) -> str:
    """Shallow clone (full fetch of ``ref`` when it is a commit); returns the commit id."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    if token:
        # Passed through git's environment config, so it shows in no argv and no URL.
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }

    async def git(*args: str, cwd: Path | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            raise InvalidPackage(f"git {args[0]} took longer than {timeout:.0f}s") from None
        text = out.decode(errors="replace")
        for line in text.splitlines()[-20:]:
            await log(line)
        if proc.returncode != 0:
            last = (text.strip().splitlines() or ["no output"])[-1]
            raise InvalidPackage(
                f"git {args[0]} failed: {last}", details={"url": _redact(url), "ref": ref}
            )
        return text

    await log(f"cloning {_redact(url)}" + (f" at {ref}" if ref else ""))
    if ref and re.fullmatch(r"[0-9a-f]{7,40}", ref):
        await git("clone", "--quiet", "--no-checkout", url, str(dest))
        await git("checkout", "--quiet", ref, cwd=dest)
    else:
        args = ["clone", "--quiet", "--depth", "1"]
        if ref:
            args += ["--branch", ref]
        await git(*args, url, str(dest))
    commit = (await git("rev-parse", "HEAD", cwd=dest)).strip().splitlines()[-1]
    shutil.rmtree(dest / ".git", ignore_errors=True)
    return commit


def _redact(url: str) -> str:
    return re.sub(r"//[^/@]+@", "//***@", url)


def package_dir(checkout: Path, subdir: str | None) -> Path:
    if not subdir:
        return checkout
    target = (checkout / subdir).resolve()
    if not target.is_relative_to(checkout.resolve()):
        raise InvalidInput("subdir must stay inside the repository", details=[{"field": "subdir"}])
    if not target.is_dir():
        raise InvalidPackage(f"the repository has no folder '{subdir}'", details={"subdir": subdir})
    return target
