"""The review app end to end in a real browser: Debian's chromium driven by Playwright.

``fairtrail app`` serves the app on 127.0.0.1; a reviewer signs in, opens a bundle, moves the
trade-off slider, signs off and exports the PDF, in which the sign-off is then found. The
browser comes from Debian (``make check`` installs it: scripts/install_system_packages);
Playwright's own browser download is not used. Screenshots of each step are written to
``$FAIRTRAIL_SCREENSHOTS`` when set (to look at them), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from fairtrail import review as rv
from fairtrail.identity import add_user
from fairtrail.signoff import SignoffStore

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
PASSWORD = "correct horse battery"
WAIT_MS = 60_000


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None
    )
    if found is None:
        pytest.fail(
            "Debian's chromium is not installed: `make check` installs it "
            "(scripts/install_system_packages; apt-get install chromium)."
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(review_bundles: Path, tmp_path: Path) -> Iterator[dict[str, object]]:
    folder = tmp_path / "bundles"
    folder.mkdir()
    for name in ("german", "german-reaudit"):
        shutil.copytree(review_bundles / name, folder / name)
    users = tmp_path / "users.toml"
    add_user(users, "ada", PASSWORD, name="Ada Lovelace", role="Ethics chair")
    store = tmp_path / "signoffs.db"
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "fairtrail", "app", str(folder), "--signoffs", str(store),
         "--users", str(users), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"the app did not start: {(tmp_path / 'server.log').read_text()}")
            time.sleep(0.2)
        yield {"url": f"http://127.0.0.1:{port}", "store": store, "folder": folder}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    assert "127.0.0.1" in (tmp_path / "server.log").read_text()


@pytest.mark.slow
def test_sign_in_explore_sign_off_and_export(server: dict[str, object], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("FAIRTRAIL_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    folder = Path(str(server["folder"]))
    tradeoff = rv.open_review(folder / "german").tradeoff
    assert tradeoff is not None
    low, _, _ = rv.limit_range(tradeoff, "max_disparity")
    lowest = rv.select_candidate(tradeoff, "max_disparity", low).candidate
    assert lowest is not None

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
        page.set_default_timeout(WAIT_MS)
        page.goto(str(server["url"]))
        expect(page.get_by_role("heading", name="Audits")).to_be_visible()

        # Sign in (the sidebar's expander holds the form).
        page.get_by_text("Sign in to sign off").click()
        page.get_by_role("textbox", name="Username").fill("ada")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_text("Ada Lovelace")).to_be_visible()
        page.screenshot(path=shots / "1-audits-signed-in.png")

        # Open the German Credit bundle.
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="german", exact=True).click()
        page.get_by_role("button", name="Open for review").click()
        expect(page.get_by_text("Audit verdict")).to_be_visible()
        page.screenshot(path=shots / "2-overview.png")

        # Move the trade-off slider to its lowest limit: the least disparate candidate.
        page.get_by_role("link", name="Trade-off explorer").click()
        chosen = page.get_by_test_id("stMetric").filter(has_text="Would be chosen")
        expect(chosen).to_be_visible()
        slider = page.get_by_role("slider").first
        slider.focus()
        slider.press("Home")
        expect(chosen.get_by_test_id("stMetricValue")).to_have_text(lowest.name)
        page.screenshot(path=shots / "3-tradeoff.png")

        # Sign off.
        page.get_by_role("link", name="Sign-off").click()
        expect(page.get_by_text("Decision status: Awaiting sign-off")).to_be_visible()
        page.get_by_role("textbox", name="Comment").fill("Reviewed in the ethics meeting.")
        page.get_by_text("I have reviewed audit").click()
        page.get_by_role("button", name="Record decision").click()
        expect(page.get_by_text("Recorded as #1")).to_be_visible()
        page.screenshot(path=shots / "4-signed.png")

        # Export the report and find the sign-off in it.
        page.get_by_role("button", name="Export the PDF report with these sign-offs").click()
        download_button = page.get_by_role("button", name="Download report.pdf")
        expect(download_button).to_be_visible(timeout=120_000)
        with page.expect_download() as info:
            download_button.click()
        pdf = tmp_path / "exported.pdf"
        info.value.save_as(pdf)
        page.screenshot(path=shots / "5-exported.png")
        browser.close()

    (record,) = SignoffStore(Path(str(server["store"]))).records()
    assert record.comment == "Reviewed in the ethics meeting."
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)
    assert "Ada Lovelace (ada)" in text
    assert "Reviewed in the ethics meeting." in text
    assert record.hash in text  # the chain's head, printed in full
