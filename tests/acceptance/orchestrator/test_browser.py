"""A real headless Chromium against `python -m openorch o` started as a subprocess:
connect, create a scheduled trigger, see it in the table, and take the screenshots that
docs/orchestrator.md shows."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from openorch.database import JobStatus, LogLevel, QueueStatus
from openorch.store import Store
from support.databases import missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[3]
# Screenshots go to screenshots/ (ignored by git); OPENORCH_UPDATE_SCREENSHOTS=1 writes
# them into docs/images/ to refresh the admin guide's pictures.
IMAGES = ROOT / (
    "docs/images" if os.environ.get("OPENORCH_UPDATE_SCREENSHOTS") == "1" else "screenshots"
)
SRC = Path(__file__).resolve().parents[3] / "src"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(db: Store) -> None:
    """A little of everything, so the screenshots show real-looking tabs."""
    soon = datetime.now() + timedelta(hours=2)
    db.create_single_trigger("Monthly report", "report", soon, "C:/robots/report.py", None,
                             False, True)
    db.create_queue_trigger("Invoice robot", "invoices", "invoices",
                            "https://git.example.org/rpa/invoices.git", "--fast", True, True, 5,
                            priority=10)
    job = db.start_job("invoices", "robot-1")
    for index in range(12):
        db.create_log("invoices", LogLevel.ERROR if index == 7 else LogLevel.INFO, job.id,
                      f"Handled invoice {1000 + index}")
    db.end_job(job.id, JobStatus.DONE)
    db.create_constant("Mail server", "smtp.example.org")
    db.create_credential("Mail robot", "robot@example.org", "not shown anywhere")
    db.send_ping_from_scheduler("robot-1")
    db.start_trigger_from_machine("robot-1", "Invoice robot")
    db.bulk_create_queue_elements(
        "invoices", [f"INV-{n}" for n in range(40)],
        [json.dumps({"invoice": n, "amount": n * 10}) for n in range(40)], created_by="import")
    done = db.get_queue_elements("invoices", limit=3)
    for element in done:
        db.set_queue_element_status(element.id, QueueStatus.DONE, "Booked")


@pytest.fixture
def server(sqlite_db_url: str, crypto_key: str, tmp_path: Path) -> Iterator[str]:
    """The Orchestrator as an admin starts it, on a free port; yields its URL."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("chromium")
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    seed(store)
    store.close()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OPENORCH_HOME": str(tmp_path / "home")}
    env.pop("OpenOrchestratorConnString", None)
    env.pop("OpenOrchestratorKey", None)
    env.pop("PYTEST_CURRENT_TEST", None)  # NiceGUI would think it runs inside pytest
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "openorch", "o", "-d", "-p", str(port),
             "--conn", sqlite_db_url, "--key", crypto_key],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
        )
    try:
        yield printed_address(process, log_path, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def printed_address(process: subprocess.Popen[bytes], log_path: Path, port: int) -> str:
    """The address with the token that `openorch o` prints once it listens, read from
    its output as an admin reads it from the terminal."""
    deadline = time.monotonic() + 30
    while True:
        found = re.search(rf"http://127\.0\.0\.1:{port}/\?token=\S+", log_path.read_text())
        if found:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return found.group(0)
            except OSError:
                pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("server did not start:\n" + log_path.read_text())
        time.sleep(0.1)


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium through the Debian chromedriver (no Selenium Manager)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="openorch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1400,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.slow
def test_connect_create_scheduled_trigger_and_screenshot(server: str, browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    wait = WebDriverWait(driver, 15)

    def by_id(test_id: str) -> object:
        return wait.until(ec.element_to_be_clickable(
            (By.CSS_SELECTOR, f'[data-testid="{test_id}"]')))

    def see(text: str) -> None:
        wait.until(ec.presence_of_element_located(
            (By.XPATH, f"//*[contains(normalize-space(.), {json.dumps(text)})]")))

    def shot(name: str) -> None:
        time.sleep(0.6)  # let Quasar's transitions settle
        IMAGES.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(IMAGES / name))

    driver.get(server)  # the printed address: signs in and drops the token from the URL
    by_id("settings_connect_button").click()  # type: ignore[attr-defined]
    see("Connected!")
    assert "token=" not in driver.current_url
    assert driver.get_cookies() and all(c["httpOnly"] for c in driver.get_cookies())
    shot("settings.png")

    by_id("tab_triggers").click()  # type: ignore[attr-defined]
    see("Monthly report")
    by_id("trigger_new_scheduled_button").click()  # type: ignore[attr-defined]
    by_id("trigger_popup_name_input").send_keys("Nightly cleanup")  # type: ignore[attr-defined]
    by_id("trigger_popup_process_input").send_keys("cleanup")  # type: ignore[attr-defined]
    by_id("trigger_popup_cron_input").send_keys("0 2 * * *")  # type: ignore[attr-defined]
    by_id("trigger_popup_path_input").send_keys("C:/robots/cleanup.py")  # type: ignore[attr-defined]
    wait.until(lambda d: by_id("trigger_popup_time_date").get_attribute("value"))  # type: ignore[attr-defined]
    shot("trigger_popup.png")
    by_id("trigger_popup_save_button").click()  # type: ignore[attr-defined]
    see("Trigger 'Nightly cleanup' created.")
    table = by_id("trigger_table")
    wait.until(lambda d: "Nightly cleanup" in table.text)  # type: ignore[attr-defined]
    assert "Scheduled" in table.text  # type: ignore[attr-defined]
    shot("triggers.png")

    by_id("tab_logs").click()  # type: ignore[attr-defined]
    see("Handled invoice 1011")
    shot("logs.png")
    by_id("tab_jobs").click()  # type: ignore[attr-defined]
    see("robot-1")
    shot("jobs.png")
    by_id("tab_constants").click()  # type: ignore[attr-defined]
    see("smtp.example.org")
    assert "not shown anywhere" not in driver.page_source
    shot("constants.png")
    by_id("tab_schedulers").click()  # type: ignore[attr-defined]
    see("Invoice robot")
    shot("schedulers.png")
    by_id("tab_queues").click()  # type: ignore[attr-defined]
    queues = by_id("queues_table")
    wait.until(lambda d: "invoices" in queues.text)  # type: ignore[attr-defined]
    shot("queues.png")
    queues.find_element(By.XPATH, ".//td[contains(., 'invoices')]").click()  # type: ignore[attr-defined]
    see("INV-39")
    shot("queue_dialog.png")

    # Under the Content-Security-Policy the app works with a clean console: no script,
    # style, font, image or websocket was refused.
    problems = [entry for entry in driver.get_log("browser")  # type: ignore[attr-defined]
                if entry["level"] in ("SEVERE", "WARNING")]
    assert not problems, problems
