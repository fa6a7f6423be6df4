"""Playwright driving the system Chromium. With REQUIRE_BROWSER=1 (CI) a missing browser
fails the run; otherwise browser tests are skipped with the reason."""

import os
import shutil
import signal
import subprocess
import time

import pytest
from django_q.status import Stat

from tests.conftest import MANAGE, ROOT, child_env

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if os.path.exists(configured) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        message = "Chromium not found (install Debian's chromium or set CHROMIUM_PATH)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {message}", pytrace=False)
        pytest.skip(reason=message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by
    # the test itself (creating users) are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


CSP_WORDS = ("Content Security Policy", "Refused to")


@pytest.fixture
def csp_refusals():
    """Console messages in which the browser refused something under the
    Content-Security-Policy; the page fixture fails the test if any is left."""
    return []


@pytest.fixture
def page(browser, csp_refusals):
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(15_000)

    def watch(message):
        if any(word in message.text for word in CSP_WORDS):
            csp_refusals.append(f"{opened.url}: {message.text}")

    opened.on("console", watch)
    yield opened
    context.close()
    if csp_refusals:
        pytest.fail(
            "The browser refused content under the Content-Security-Policy:\n"
            + "\n".join(csp_refusals),
            pytrace=False,
        )


@pytest.fixture
def worker():
    """A real django-q2 cluster on this test run's database (use with transactional tests)."""
    process = subprocess.Popen(
        [*MANAGE, "qcluster"],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not sum(len(stat.workers) for stat in Stat.get_all()):
        assert time.monotonic() < deadline, "the worker cluster did not start"
        time.sleep(0.25)
    yield process
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def sign_in(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the page as a person does, and wait until the next page settles."""
    page.goto(f"{base_url}/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
