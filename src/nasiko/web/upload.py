"""Upload an agent (archive or git URL) and watch it go through the pipeline step by step."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import events, ui

from nasiko.core.deploy.models import GitSource, Upload
from nasiko.core.deploy.service import UploadService
from nasiko.errors import InvalidInput, NasikoError
from nasiko.web.agent_tabs import run_in_page
from nasiko.web.context import PageContext, resolve
from nasiko.web.layout import error_panel, frame, guarded, status_badge, testid, when

STEP_ICONS = {"pending": "radio_button_unchecked", "running": "autorenew", "done": "check_circle",
              "failed": "error"}  # fmt: skip
STEP_COLORS = {"pending": "grey", "running": "orange", "done": "positive", "failed": "negative"}


def _uploads(ctx: PageContext) -> UploadService:
    service: UploadService = ctx.svc.extensions["uploads"]
    return service


async def github_repos(ctx: PageContext) -> list[str]:
    """The user's repositories when they connected GitHub (empty otherwise)."""
    cred = await ctx.svc.storage.credentials.get(user_id=ctx.principal.id, kind="github")
    github = ctx.svc.extensions.get("github")
    if cred is None or github is None:
        return []
    try:
        repos = await github.paginate("/user/repos", token=cred.secret, max_pages=3)
    except NasikoError:
        return []
    return sorted(r["full_name"] for r in repos if isinstance(r, dict) and "full_name" in r)


async def upload_page(request: Request) -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    service = _uploads(ctx)
    default_runtime = ctx.svc.settings.runtime.default
    with frame(ctx, "Upload an agent"):
        ui.markdown(
            "A package is a folder with an `Agentcard.json` (or `agent.json`) and the agent's "
            "code: a `pyproject.toml` or `requirements.txt`, or a `Dockerfile`. Zip or tar it, "
            "or point at a git repository."
        ).classes("text-grey-8")
        with ui.card().classes("w-full"), ui.row().classes("w-full gap-2 items-end"):
            runtime = ui.select(["process", "docker"], value=default_runtime, label="Runtime")
            runtime.props("outlined dense").classes("w-36").props(testid("runtime"))
            visibility = (
                ui.select(["private", "shared", "public"], value="private", label="Visibility")
                .props("outlined dense")
                .classes("w-36")
            )
            visibility.props(testid("upload-visibility"))
            slug = ui.input("Slug (optional)").props("outlined dense").classes("w-44")
            tags = ui.input("Tags (comma separated)").props("outlined dense").classes("grow")

        def options() -> dict[str, Any]:
            return {
                "slug": (slug.value or "").strip() or None,
                "runtime": runtime.value,
                "visibility": visibility.value,
                "tags": [t.strip() for t in (tags.value or "").split(",") if t.strip()] or None,
            }

        with ui.tabs().classes("w-full").props("align=left") as tabs:
            archive_tab = ui.tab("Archive", icon="folder_zip")
            git_tab = ui.tab("Git repository", icon="merge")
        with ui.tab_panels(tabs, value=archive_tab).classes("w-full"):
            with ui.tab_panel(archive_tab):

                @guarded
                async def on_upload(e: events.UploadEventArguments) -> None:
                    opts = options()
                    upload = await service.from_archive(
                        ctx.principal,
                        filename=e.file.name,
                        chunks=e.file.iterate(),
                        slug=opts["slug"],
                        runtime=opts["runtime"],
                        visibility=opts["visibility"],
                        tags=opts["tags"],
                    )
                    ui.navigate.to(f"/uploads/{upload.id}")

                ui.upload(
                    label="Drop a .zip or .tar.gz here, or click to choose",
                    on_upload=on_upload,
                    auto_upload=True,
                    max_file_size=ctx.svc.settings.api.max_upload_bytes,
                    on_rejected=lambda: ui.notify(
                        "That file is too large for this platform", type="negative"
                    ),
                ).props('accept=".zip,.tar,.tar.gz,.tgz" flat bordered').classes("w-full").props(
                    testid("archive")
                )
            with ui.tab_panel(git_tab):
                repos = await github_repos(ctx)
                url = ui.input("Repository URL", placeholder="https://github.com/owner/repo.git")
                url.props("outlined dense").classes("w-full").props(testid("git-url"))
                if repos:
                    github = ctx.svc.extensions["github"]

                    def pick(e: events.ValueChangeEventArguments) -> None:
                        if e.value:
                            url.value = github.clone_url(e.value)

                    ui.select(repos, label="Or one of your GitHub repositories",
                              on_change=pick, with_input=True).props("outlined dense").classes(
                        "w-full"
                    )  # fmt: skip
                with ui.row().classes("w-full gap-2"):
                    ref = ui.input("Branch, tag or commit").props("outlined dense")
                    subdir = ui.input("Folder inside the repository").props("outlined dense")

                @guarded
                async def from_git() -> None:
                    opts = options()
                    if not (url.value or "").strip():
                        raise InvalidInput("enter the repository URL")
                    upload = await service.from_git(
                        ctx.principal,
                        GitSource(
                            url=url.value.strip(),
                            ref=ref.value or None,
                            subdir=subdir.value or None,
                            slug=opts["slug"],
                            runtime=opts["runtime"],
                            visibility=opts["visibility"],
                        ),
                    )
                    ui.navigate.to(f"/uploads/{upload.id}")

                ui.button("Deploy from git", icon="rocket_launch", on_click=from_git).props(
                    "unelevated color=primary"
                )
        ui.label("Recent uploads").classes("text-h6")
        recent = await service.list(ctx.principal, limit=10, offset=0)
        if not recent.items:
            ui.label("None yet.").classes("text-grey-7")
        for item in recent.items:
            with ui.row().classes("items-center gap-2"):
                status_badge(item.status)
                ui.link(
                    f"{item.slug or item.source.get('name') or item.id[:8]}",
                    f"/uploads/{item.id}",
                )
                ui.label(when(item.created_at)).classes("text-caption text-grey-7")
    return None


def render_steps(box: ui.column, upload: Upload) -> None:
    box.clear()
    with box:
        with ui.row().classes("items-center gap-2"):
            ui.label("Status").classes("text-subtitle1")
            status_badge(upload.status).props(testid("upload-status"))
        for step in upload.steps:
            with (
                ui.expansion(
                    step.name,
                    icon=STEP_ICONS[step.status],
                    value=step.status == "failed",
                )
                .classes("w-full")
                .props("dense") as exp
            ):
                exp.props(testid(f"step-{step.name}"))
                exp.props(f'header-class="text-{STEP_COLORS[step.status]}"')
                ui.label(f"{step.status} · started {when(step.started_at)}").classes("text-caption")
                ui.label("\n".join(step.log[-200:]) or "(no output)").classes(
                    "nasiko-log nasiko-mono w-full"
                )
        if upload.status == "failed":
            with ui.card().classes("w-full bg-red-1 text-red-10"):
                ui.label(upload.error or "the upload failed").props('role="alert"').props(
                    testid("upload-error")
                )
        if upload.status == "registered" and upload.slug:
            with ui.row().classes("items-center gap-2"):
                ui.icon("check_circle", color="positive")
                ui.link(f"Open {upload.slug}", f"/agents/{upload.slug}").props(testid("open-agent"))


async def progress_page(request: Request, upload_id: str) -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    service = _uploads(ctx)
    with frame(ctx, "Upload progress"):
        try:
            upload = await service.get(ctx.principal, upload_id)
        except NasikoError as exc:
            error_panel(exc)
            return None
        ui.label(f"{upload.source.get('kind')} · {upload.runtime} runtime").classes("text-grey-7")
        box = ui.column().classes("w-full gap-1")
        render_steps(box, upload)
        if upload.done:
            return None

        async def follow() -> None:
            try:
                async for current in service.watch(ctx.principal, upload_id):
                    render_steps(box, current)
                    if current.status == "registered" and current.slug:
                        ui.notify(f"{current.slug} is registered", type="positive")
                        ui.navigate.to(f"/agents/{current.slug}")
            except NasikoError as exc:
                ui.notify(exc.message, type="negative")

        run_in_page(follow)
    return None


def register() -> None:
    ui.page("/upload")(upload_page)
    ui.page("/uploads/{upload_id}")(progress_page)
