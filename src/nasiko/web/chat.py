"""Chat: sessions, a conversation that streams replies, an agent picker with automatic
routing (showing which agent was chosen and why), and file attachments."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import events, ui

from nasiko.core.chat.models import ChatMessage, ChatSession, FileIn, NewSession, SendMessage
from nasiko.core.chat.service import ChatService
from nasiko.errors import NasikoError
from nasiko.web.context import PageContext, resolve, ui_url
from nasiko.web.layout import empty_state, error_panel, frame, guarded, testid, when

AUTO = "auto"


def _chat(ctx: PageContext) -> ChatService:
    service: ChatService = ctx.svc.extensions["chat"]
    return service


def bubble(role: str, text: str, *, caption: str = "") -> ui.markdown:
    align = (
        "self-end bg-primary text-white" if role == "user" else "self-start bg-grey-2 text-black"
    )
    with ui.column().classes(f"gap-0 max-w-[85%] rounded-borders px-3 py-2 {align}") as box:
        box.props(testid(f"msg-{role}"))
        md = ui.markdown(text or "…").classes("nasiko-reply" if role == "agent" else "")
        if caption:
            ui.label(caption).classes("text-caption opacity-70")
    return md


def routed_note(data: dict[str, Any]) -> None:
    skill = f", skill “{data['skill']}”" if data.get("skill") else ""
    text = f"Routed to **{data['agent']}**{skill} (score {data.get('score', 0):.2f})"
    if data.get("reason"):
        text += f": {data['reason']}"
    with ui.row().classes("self-center items-center gap-1 text-caption text-grey-7") as row:
        row.props(testid("routed"))
        ui.icon("alt_route")
        ui.markdown(text)


def render_history(messages: list[ChatMessage]) -> None:
    for m in messages:
        files = [p for p in m.parts if p.get("kind") == "file" or "file" in p]
        caption = m.agent_slug or "" if m.role == "agent" else ""
        if files:
            caption = (caption + " · " if caption else "") + f"{len(files)} file(s)"
        bubble(m.role, m.text, caption=caption)


def session_item(s: ChatSession, *, active: bool) -> ui.item:
    item = ui.item(on_click=lambda: ui.navigate.to(f"/chat/{s.id}"))
    if active:
        item.props("active")
    with item, ui.item_section():
        ui.item_label(s.title)
        ui.item_label(f"{s.agent_slug or 'automatic'} · {when(s.updated_at)}").props("caption")
    return item


async def chat_page(
    request: Request, session_id: str = "", agent: str = "", text: str = ""
) -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    chat = _chat(ctx)
    state: dict[str, Any] = {"session": None, "files": []}
    with frame(ctx, "Chat"):
        sessions = await chat.list(ctx.principal, limit=50, offset=0)
        visible = await ctx.svc.registry.list(ctx.principal, limit=500, offset=0)
        options = {AUTO: "Automatic (router picks)"} | {
            a.slug: f"{a.name} ({a.slug})" for a in visible.items
        }
        if session_id:
            try:
                history = await chat.history(ctx.principal, session_id)
            except NasikoError as exc:
                error_panel(exc)
                return None
            state["session"] = history
        with ui.row().classes("w-full gap-4 no-wrap items-stretch max-md:flex-col"):
            with ui.column().classes("md:w-64 w-full gap-1"):
                ui.button("New chat", icon="add", on_click=lambda: ui.navigate.to("/chat")).props(
                    "unelevated color=primary"
                ).classes("w-full")
                none_yet = ui.label("No conversations yet.").classes("text-grey-7 text-caption")
                none_yet.set_visibility(not sessions.items)
                listing = ui.list().props("dense separator").classes("w-full")
                with listing.props(testid("sessions")):
                    for s in sessions.items:
                        session_item(s, active=s.id == session_id)
            with ui.column().classes("grow gap-2 min-w-0"):
                current = state["session"]
                picked = agent if agent in options else None
                if picked is None and current is not None:
                    picked = current.agent_slug or AUTO
                picker = (
                    ui.select(options, value=picked or AUTO, label="Agent")
                    .props("outlined dense")
                    .classes("w-full md:w-96")
                )
                picker.props(testid("agent-picker"))
                log = (
                    ui.column()
                    .classes("w-full gap-2 p-2 rounded-borders overflow-auto min-h-[240px]")
                    .props('role="log" aria-live="polite"')
                )
                log.props(testid("conversation"))
                with log:
                    if current is not None and current.messages:
                        render_history(current.messages)
                    elif not visible.items:
                        empty_state(
                            "smart_toy",
                            "No agents to talk to",
                            "Upload an agent first ([Upload](/ui/upload)), or ask someone to "
                            "share theirs with you.",
                        )
                    else:
                        state["placeholder"] = True
                        empty_state(
                            "chat",
                            "Start a conversation",
                            "Pick an agent, or leave **Automatic** and the router chooses one "
                            "for each message.",
                        )
                attachments = ui.row().classes("gap-1")

                def show_files() -> None:
                    attachments.clear()
                    with attachments:
                        for f in state["files"]:
                            ui.chip(f.name, icon="attach_file", removable=True,
                                    on_value_change=lambda _, f=f: drop(f))  # fmt: skip

                def drop(f: FileIn) -> None:
                    state["files"].remove(f)
                    show_files()

                async def on_file(e: events.UploadEventArguments) -> None:
                    data = await e.file.read()
                    state["files"].append(
                        FileIn(
                            name=e.file.name,
                            mime_type=e.file.content_type or "application/octet-stream",
                            data=base64.b64encode(data).decode(),
                        )
                    )
                    show_files()

                with ui.row().classes("w-full items-end gap-2 no-wrap"):
                    box = ui.textarea(placeholder="Message… (Enter sends, Shift+Enter: new line)")
                    box.props("outlined dense autogrow autofocus").classes("grow").props(
                        testid("message")
                    )
                    if text:
                        box.value = text
                    send_button = ui.button(icon="send").props(
                        'unelevated color=primary aria-label="Send"'
                    )
                uploader = ui.upload(
                    label="Attach files", multiple=True, auto_upload=True, on_upload=on_file,
                    max_file_size=10 * 1024 * 1024,
                ).props("flat dense").classes("w-full")  # fmt: skip

                @guarded
                async def send() -> None:
                    message = (box.value or "").strip()
                    if not message and not state["files"]:
                        return
                    session = state["session"]
                    if session is None:
                        session = await chat.create(
                            ctx.principal,
                            NewSession.model_validate(
                                {"agent": None if picker.value == AUTO else picker.value}
                            ),
                        )
                        state["session"] = session
                        none_yet.set_visibility(False)
                        with listing:
                            session_item(session, active=True).move(target_index=0)
                        ui.navigate.history.replace(ui_url(f"/chat/{session.id}"))
                    if state.pop("placeholder", False):
                        log.clear()
                    files, state["files"] = state["files"], []
                    show_files()
                    uploader.reset()
                    box.value = ""
                    send_button.disable()
                    with log:
                        note = f"{len(files)} file(s)" if files else ""
                        bubble("user", message, caption=note)
                        holder = ui.column().classes("w-full gap-1")
                    try:
                        await stream_reply(ctx, session.id, message, files, picker.value, holder)
                    finally:
                        send_button.enable()

                send_button.on_click(send)
                box.on("keydown.enter.exact.prevent", send)
    return None


async def stream_reply(
    ctx: PageContext,
    session_id: str,
    text: str,
    files: list[FileIn],
    agent: str,
    holder: ui.column,
) -> None:
    body = SendMessage(text=text, files=files, agent=agent, stream=True)
    reply: ui.markdown | None = None
    content = ""
    with holder:
        spinner = ui.spinner("dots", size="md")
    async for event in _chat(ctx).send(ctx.principal, ctx.token, session_id, body):
        kind, data = event["event"], event["data"]
        with holder:
            if kind == "routed":
                routed_note(data)
            elif kind == "delta":
                content = content + data["text"] if data.get("append") else data["text"]
                if reply is None:
                    reply = bubble("agent", content)
                else:
                    reply.content = content
            elif kind == "done":
                spinner.delete()
                if reply is None:
                    reply = bubble("agent", data.get("text") or "(no text)")
                # A plain message reply has no task state; show "done" rather than "message".
                state = data.get("state")
                state = "done" if state in (None, "message") else state
                ui.label(f"{data.get('agent')} · {state}").classes(
                    "text-caption text-grey-7 self-start"
                ).props(testid("reply-done"))
            elif kind == "error":
                spinner.delete()
                with ui.card().classes("bg-red-1 text-red-10 self-start"):
                    ui.label(data.get("message") or "the agent failed").props('role="alert"')
                return


def register() -> None:
    ui.page("/chat")(chat_page)
    ui.page("/chat/{session_id}")(chat_page)
