"""A real server (uvicorn in a thread) on a free port and the system Chromium, for Playwright.

Chromium must be at /usr/bin/chromium (Debian's package); `playwright install` is never
used. Without it the browser tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING = "Chromium not installed at /usr/bin/chromium: browser tests skipped"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING.replace("skipped", "required when CI=true"))
        pytest.skip(MISSING)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The application of this test's database, served over HTTP on 127.0.0.1."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def sign_in(tab: Any, username: str) -> None:
    """Through the real login form (Chinese labels: the contexts open with locale zh-CN)."""
    from tests import auth

    tab.goto("/login")
    tab.fill("#login-username", username)
    tab.fill("#login-password", auth.PASSWORD)
    tab.get_by_role("button", name="登录").click()
    tab.wait_for_url("**/")


@pytest.fixture
def admin_page(page: Any, database: Any) -> Any:
    """The tab, signed in as a platform admin through the real login form."""
    from tests import auth

    auth.create_user(database, "browser-admin", admin=True)
    sign_in(page, "browser-admin")
    return page


@pytest.fixture
def tabs(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh browser (its own cookies) per user: ``tabs("officer-a")`` is signed in."""
    contexts = []

    def open_as(username: str) -> Any:
        context = browser.new_context(base_url=live_server, locale="zh-CN")
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        sign_in(tab, username)
        return tab

    yield open_as
    for context in contexts:
        context.close()
