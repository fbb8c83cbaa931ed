"""The web UI in a real browser (Debian's Chromium through Playwright) against a live platform:
sign in, upload the echo agent and watch it register, chat with it, open its trace, share it
with one user and not another. Screenshots of every page go to test-output/screenshots/."""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from nasiko.client import NasikoClient, Tokens
from nasiko.testing.platform import PlatformThread

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ECHO_AGENT = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "echo-agent"

PASSWORDS = {"ana": "ana-password-1", "bob": "bob-password-1", "cy": "cy-password-1"}
SLUG = "echo-agent"


@pytest.fixture(scope="module")
def people(admin_api: NasikoClient) -> dict[str, str]:
    for name, password in PASSWORDS.items():
        admin_api.post(
            "/users", json={"username": name, "email": f"{name}@example.com", "password": password}
        )
    return PASSWORDS


class Session:
    """One person's browser context; records any request that leaves the loopback host."""

    def __init__(self, browser: Browser, base: str, *, width: int = 1280) -> None:
        self.base = base
        self.context: BrowserContext = browser.new_context(viewport={"width": width, "height": 860})
        self.external: list[str] = []
        self.page: Page = self.context.new_page()
        self.page.on("request", self._check)
        self.page.on("console", lambda m: print("CONSOLE", m.type, m.text[:300]))
        self.page.on("pageerror", lambda e: print("PAGEERROR", str(e)[:300]))
        expect.set_options(timeout=60_000)

    def _check(self, request: Any) -> None:
        if not request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            self.external.append(request.url)

    def go(self, path: str) -> Page:
        self.page.goto(f"{self.base}{path}")
        return self.page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def sign_in(self, username: str, password: str) -> None:
        page = self.go("/ui/agents")
        expect(page).to_have_url(re.compile(r"/ui/login\?next="))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/ui/agents$"))
        expect(page.get_by_role("heading", name="Agents")).to_be_visible()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session_factory(browser: Browser, ui_platform: PlatformThread) -> Iterator[Any]:
    opened: list[Session] = []

    def make(**kwargs: Any) -> Session:
        s = Session(browser, ui_platform.api_url, **kwargs)
        opened.append(s)
        return s

    yield make
    for s in opened:
        assert s.external == [], f"the UI fetched from outside: {s.external}"
        s.close()


def wait_for_trace(platform: PlatformThread, admin: NasikoClient) -> None:
    """Spans are written in batches after the call: wait until the agent's trace is stored."""
    traces = platform.services.extensions["traces"]
    for _ in range(200):
        platform.call(traces.flush())
        if admin.get("/traces", params={"agent": SLUG})["items"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"no trace of {SLUG} was recorded")


def field(page: Page, testid: str) -> Any:
    """The native input of a Quasar field (the test id lands on the input or its wrapper)."""
    t = f'[data-testid="{testid}"]'
    return page.locator(f"input{t}, textarea{t}, {t} input, {t} textarea").first


def pick(page: Page, testid: str, option: str) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_sign_in_rejects_a_wrong_password(session_factory: Any, people: dict[str, str]) -> None:
    s = session_factory()
    page = s.go("/ui/login")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("not-her-password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("wrong username or password")
    s.shot("login-error")


def test_upload_chat_trace_and_share(
    session_factory: Any,
    admin_api: NasikoClient,
    people: dict[str, str],
    ui_platform: PlatformThread,
    tmp_path: Path,
) -> None:
    ana = session_factory()
    page = ana.go("/ui/login")
    ana.shot("login")
    ana.sign_in("ana", people["ana"])
    expect(page.get_by_text("No agents yet")).to_be_visible()
    ana.shot("agents-empty")

    # Upload the echo agent as a zip through the drop zone; watch the steps.
    archive = tmp_path / f"{SLUG}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(ECHO_AGENT.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(ECHO_AGENT).as_posix())
    page = ana.go("/ui/upload")
    expect(page.get_by_role("heading", name="Upload an agent")).to_be_visible()
    ana.shot("upload")
    page.get_by_test_id("archive").locator("input[type=file]").set_input_files(str(archive))
    expect(page).to_have_url(re.compile(r"/ui/uploads/[0-9a-f-]+$"))
    upload_url = page.url
    ana.shot("upload-progress")
    # The progress view ends at the agent's page once the upload is registered.
    expect(page).to_have_url(re.compile(rf"/ui/agents/{SLUG}$"))
    expect(page.get_by_test_id("agent-status")).to_have_text("running")
    expect(page.get_by_test_id("skill-echo")).to_contain_text("Echoes the user's message back.")
    ana.shot("agent")
    page.goto(upload_url)
    expect(page.get_by_test_id("upload-status")).to_have_text("registered")
    for step in ("validating", "building", "deploying", "health-checking", "registered"):
        expect(page.get_by_test_id(f"step-{step}")).to_be_visible()
    ana.shot("upload-registered")

    # The list shows it with its badge; search narrows, a miss shows the empty state.
    page = ana.go("/ui/agents")
    expect(page.get_by_test_id(f"agent-{SLUG}")).to_contain_text("running")
    page.get_by_label("Search agents").fill("zebra")
    expect(page.get_by_text("No agents match")).to_be_visible()
    page.get_by_label("Search agents").fill("echo")
    expect(page.get_by_test_id(f"agent-{SLUG}")).to_be_visible()
    ana.shot("agents")

    # Chat with it: the reply streams into the conversation.
    page = ana.go(f"/ui/chat?agent={SLUG}")
    expect(page.get_by_test_id("agent-picker")).to_contain_text(SLUG)
    field(page, "message").fill("hello from the browser")
    field(page, "message").press("Enter")
    expect(page.get_by_test_id("msg-agent").last).to_contain_text("echo: hello from the browser")
    expect(page.get_by_test_id("reply-done")).to_have_text(f"{SLUG} · done")
    expect(page).to_have_url(re.compile(r"/ui/chat/[0-9a-f-]+$"))
    expect(page.get_by_test_id("sessions")).to_contain_text(f"Chat with {SLUG}")
    ana.shot("chat")

    # Automatic: the router picks the agent and the page says which one and why.
    pick(page, "agent-picker", "Automatic (router picks)")
    field(page, "message").fill("echo my message back to me")
    field(page, "message").press("Enter")
    expect(page.get_by_test_id("routed")).to_contain_text(f"Routed to {SLUG}")
    expect(page.get_by_test_id("msg-agent").last).to_contain_text("echo: echo my message back")
    ana.shot("chat-automatic")

    # Its trace: the gateway recorded a span for the call.
    wait_for_trace(ui_platform, admin_api)
    page = ana.go(f"/ui/traces?agent={SLUG}")
    table = page.get_by_test_id("traces-table")
    expect(table).to_contain_text(SLUG)
    ana.shot("traces")
    table.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/ui/traces/[0-9a-f]{32}$"))
    waterfall = page.get_by_test_id("waterfall")
    expect(waterfall).to_be_visible()
    expect(waterfall.locator("[data-testid^=span-]").first).to_be_visible()
    waterfall.locator("[data-testid^=span-]").first.click()
    expect(waterfall).to_contain_text("Attributes")
    expect(waterfall).to_contain_text(SLUG)
    ana.shot("trace")

    # Share with bob: visibility 'shared' and a grant; cy gets nothing.
    page = ana.go(f"/ui/agents/{SLUG}")
    pick(page, "visibility", "shared")
    expect(page.get_by_text(f"{SLUG} is now shared")).to_be_visible()
    page.get_by_role("tab", name="Access").click()
    field(page, "grantee").fill("bob")
    page.get_by_role("button", name="Grant access").click()
    expect(page.get_by_test_id("grant-bob")).to_be_visible()
    ana.shot("agent-access")
    page.get_by_role("tab", name="Metrics & traces").click()
    expect(page.get_by_test_id("chart-calls")).to_be_visible()
    ana.shot("agent-metrics")
    page.get_by_role("tab", name="Logs").click()
    expect(page.get_by_test_id("logs")).to_be_visible()
    ana.shot("agent-logs")

    bob = session_factory()
    bob.sign_in("bob", people["bob"])
    expect(bob.page.get_by_test_id(f"agent-{SLUG}")).to_be_visible()
    bob.shot("agents-bob")
    cy = session_factory()
    cy.sign_in("cy", people["cy"])
    expect(cy.page.get_by_text("No agents yet")).to_be_visible()
    expect(cy.page.get_by_test_id(f"agent-{SLUG}")).to_have_count(0)
    page = cy.go(f"/ui/agents/{SLUG}")
    expect(page.get_by_role("alert")).to_have_text(f"no agent '{SLUG}'")


def test_api_tokens_are_shown_once_and_revocable(
    session_factory: Any, people: dict[str, str], ui_platform: PlatformThread
) -> None:
    s = session_factory()
    s.sign_in("bob", people["bob"])
    page = s.go("/ui/tokens")
    expect(page.get_by_text("No API tokens")).to_be_visible()
    page.get_by_label("Token name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    token = field(page, "new-token").input_value()
    assert token.startswith("nsk_")
    with NasikoClient(ui_platform.api_url, tokens=Tokens(access_token=token)) as client:
        assert client.get("/users/me")["username"] == "bob"
    s.shot("tokens")
    page.get_by_role("button", name="Revoke laptop").click()
    expect(page.get_by_text("No API tokens")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)


def test_admin_health_users_and_audit(
    session_factory: Any, people: dict[str, str], ui_platform: PlatformThread
) -> None:
    s = session_factory()
    s.sign_in("admin", "admin-password-1")
    page = s.go("/ui/admin")
    for name in ("api", "database", "gateway", "router"):
        expect(page.get_by_test_id(f"health-{name}")).to_contain_text("up")
    s.shot("admin-health")
    page.get_by_role("tab", name="Users").click()
    page.get_by_text("Create a user").click()
    field(page, "new-username").fill("dee")
    field(page, "new-email").fill("dee@example.com")
    field(page, "new-password").fill("short")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_text("password")).not_to_have_count(0)  # the readable validation error
    field(page, "new-password").fill("dee-password-1")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_test_id("user-dee")).to_contain_text("active")
    page.get_by_test_id("user-dee").get_by_role("button", name="Deactivate").click()
    expect(page.get_by_test_id("user-dee")).to_contain_text("deactivated")
    s.shot("admin-users")
    page.get_by_role("tab", name="Audit log").click()
    expect(page.get_by_test_id("audit-table")).to_contain_text("user.created")
    s.shot("admin-audit")

    # Not for ordinary users.
    other = session_factory()
    other.sign_in("cy", people["cy"])
    page = other.go("/ui/admin")
    expect(page.get_by_role("alert")).to_have_text("this page is for superusers")


def test_phone_width_dark_theme_and_sign_out(session_factory: Any, people: dict[str, str]) -> None:
    s = session_factory(width=390)
    s.sign_in("bob", people["bob"])
    page = s.page
    nav = page.get_by_role("navigation")
    expect(nav).to_be_hidden()  # the drawer folds away on a phone
    page.get_by_role("button", name="Toggle navigation").click()
    expect(nav).to_be_visible()
    s.shot("phone-drawer")
    page.locator(".q-drawer__backdrop").click(position={"x": 380, "y": 400})  # tap outside
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Toggle dark theme").click()
    expect(page.locator("body")).to_have_class(re.compile(r"body--dark"))
    page.reload()
    expect(page.locator("body")).to_have_class(re.compile(r"body--dark"))
    s.shot("phone-dark")
    page.get_by_role("button", name="Account menu").click()
    page.get_by_text("Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    s.go("/ui/agents")
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
