"""A real headless Chromium against `python -m openorch o` started as a subprocess, at
1400x900: connect, create a scheduled trigger, page a 120-element queue from its first
render, see the badges, walk every tab and main popup in light and dark mode taking the
screenshots docs/orchestrator.md shows, and fail on any browser console error."""

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
from typing import Any

import pytest

from openorch.database import JobStatus, LogLevel, QueueStatus, TriggerStatus
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
    db.create_single_trigger(
        "Monthly report", "report", soon, "C:/robots/report.py", None, False, True
    )
    db.create_queue_trigger(
        "Invoice robot",
        "invoices",
        "invoices",
        "https://git.example.org/rpa/invoices.git",
        "--fast",
        True,
        True,
        5,
        priority=10,
    )
    job = db.start_job("invoices", "robot-1")
    for index in range(12):
        db.create_log(
            "invoices",
            LogLevel.ERROR if index == 7 else LogLevel.INFO,
            job.id,
            f"Handled invoice {1000 + index}",
        )
    db.end_job(job.id, JobStatus.DONE)
    db.create_constant("Mail server", "smtp.example.org")
    db.create_credential("Mail robot", "robot@example.org", "not shown anywhere")
    db.send_ping_from_scheduler("robot-1")
    db.start_trigger_from_machine("robot-1", "Invoice robot")
    db.bulk_create_queue_elements(
        "invoices",
        [f"INV-{n}" for n in range(120)],
        [json.dumps({"invoice": n, "amount": n * 10}) for n in range(120)],
        created_by="import",
    )
    for index in range(48):
        db.create_log("reports", LogLevel.TRACE, None, f"Report step {index}")
    failed = db.create_single_trigger(
        "Weekly export", "export", soon, "C:/robots/export.py", None, False, True
    )
    db.set_trigger_status(failed, TriggerStatus.FAILED)
    late = datetime.now() - timedelta(hours=1)
    db.create_single_trigger(
        "Forgotten run", "report", late, "C:/robots/report.py", None, False, True
    )
    done = db.create_single_trigger(
        "Yesterday's run", "report", late, "C:/robots/report.py", None, False, True
    )
    db.set_trigger_status(done, TriggerStatus.DONE)
    fail_job = db.start_job("export", "robot-1")
    db.create_log("export", LogLevel.ERROR, fail_job.id, "The export server refused the file.")
    db.end_job(fail_job.id, JobStatus.FAILED)
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
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "OPENORCH_HOME": str(tmp_path / "home"),
    }
    env.pop("OpenOrchestratorConnString", None)
    env.pop("OpenOrchestratorKey", None)
    env.pop("PYTEST_CURRENT_TEST", None)  # NiceGUI would think it runs inside pytest
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openorch",
                "o",
                "-d",
                "-p",
                str(port),
                "--conn",
                sqlite_db_url,
                "--key",
                crypto_key,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
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
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Reloading asks "leave the page?"; the test accepts it as an admin would.
    options.set_capability("unhandledPromptBehavior", "accept")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


#: Every visible text's contrast on its background, as WCAG 2 computes it: returns the
#: texts under 4.5:1 (3:1 for large text) in the page, or in the dialog on top.
CONTRAST_SCRIPT = ROOT / "tests" / "support" / "contrast.js"

#: What the dark-mode walk found below WCAG AA (the test fails on any).
LOW_CONTRAST: list[str] = []


class Page:
    """The Orchestrator in Chromium, by test id."""

    def __init__(self, driver: object) -> None:
        from selenium.webdriver.remote.webdriver import WebDriver
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver: WebDriver = driver  # type: ignore[assignment]
        self.wait = WebDriverWait(self.driver, 15)

    def by_id(self, test_id: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(
            ec.element_to_be_clickable((By.CSS_SELECTOR, f'[data-testid="{test_id}"]'))
        )

    def see(self, text: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.wait.until(
            ec.visibility_of_element_located(
                (
                    By.XPATH,
                    f"//*[contains(normalize-space(.), {json.dumps(text)}) "
                    "and not(descendant::*[contains(normalize-space(.), "
                    f"{json.dumps(text)})])]",
                )
            )
        )

    def footer(self, test_id: str) -> str:
        """The pagination text of a table ("1-50 of 120")."""
        table = self.by_id(test_id)
        return str(
            self.driver.execute_script(
                "return [...arguments[0].querySelectorAll('.q-table__bottom .q-table__control')]"
                ".map(e => e.innerText).find(x => / of /.test(x)) || '';",
                table,
            )
        )

    def wait_footer(self, test_id: str, text: str) -> None:
        self.wait.until(
            lambda _d: text in self.footer(test_id),
            message=f"{test_id} footer never showed {text!r}",
        )

    def next_page(self, test_id: str) -> None:
        from selenium.webdriver.common.by import By

        table = self.by_id(test_id)
        buttons = table.find_elements(By.CSS_SELECTOR, ".q-table__bottom button")
        enabled = [b for b in buttons if b.is_enabled() and "chevron_right" in b.text]
        assert enabled, "no enabled next-page arrow"
        enabled[0].click()

    def tab(self, name: str) -> None:
        self.by_id(f"tab_{name.lower()}").click()
        self.wait.until(
            lambda d: "q-tab--active" in self.by_id(f"tab_{name.lower()}").get_attribute("class")
        )

    def shot(self, name: str, dark: bool) -> None:
        """Save a screenshot with no notification over the content (and, in dark mode,
        check the contrast of every visible text: `low_contrast`)."""
        if dark:
            found = self.driver.execute_script(CONTRAST_SCRIPT.read_text(encoding="utf-8"))
            LOW_CONTRAST.extend(f"{name}: {item}" for item in found)
        self.driver.execute_script(
            "let s = document.getElementById('openorch-shot');"
            "if (!s) { s = document.createElement('style'); s.id = 'openorch-shot';"
            "s.textContent = '.q-notifications { display: none !important; }';"
            "document.head.appendChild(s); }"
        )
        time.sleep(0.6)  # let Quasar's transitions settle
        IMAGES.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(IMAGES / f"{name}{'_dark' if dark else ''}.png"))
        self.driver.execute_script("document.getElementById('openorch-shot').remove();")

    def console_problems(self) -> list[str]:
        """Console errors and warnings: under the Content-Security-Policy a refused
        script, style, font, image or websocket shows up here."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")  # type: ignore[attr-defined]
            if entry["level"] in ("SEVERE", "WARNING")
        ]


@pytest.mark.slow
def test_every_tab_and_popup_in_light_and_dark(server: str, browser: object) -> None:
    from selenium.webdriver.common.by import By

    page = Page(browser)
    driver = page.driver
    driver.get(server)  # the printed address: signs in and drops the token from the URL
    page.by_id("settings_connect_button").click()
    page.see("Connected!")
    assert "token=" not in driver.current_url
    assert driver.get_cookies() and all(c["httpOnly"] for c in driver.get_cookies())

    # --- paging from the first render, rows-per-page choices, badges (light mode) ---
    page.tab("Logs")
    page.wait_footer("logs_table", "1-50 of 61")
    page.tab("Queues")
    queues = page.by_id("queues_table")
    page.wait.until(lambda d: "invoices" in queues.text)
    queues.find_element(By.XPATH, ".//td[contains(., 'invoices')]").click()
    page.wait_footer("queue_dialog_table", "1-50 of 120")
    page.next_page("queue_dialog_table")
    page.wait_footer("queue_dialog_table", "51-100 of 120")
    page.next_page("queue_dialog_table")
    page.wait_footer("queue_dialog_table", "101-120 of 120")
    selector = page.by_id("queue_dialog_table").find_elements(
        By.CSS_SELECTOR, ".q-table__bottom .q-select"
    )
    assert selector, "no rows-per-page selector"
    page.by_id("queue_dialog_close_button").click()
    page.tab("Triggers")
    table = page.by_id("trigger_table")
    page.wait.until(lambda d: "Forgotten run" in table.text)
    badges = {
        row.find_element(By.CSS_SELECTOR, "td").text: row.text
        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    }
    assert "Overdue" in badges["Forgotten run"]
    assert "Overdue" not in badges["Yesterday's run"]

    # --- a new scheduled trigger through the popup ---
    page.by_id("trigger_new_scheduled_button").click()
    page.by_id("trigger_popup_name_input")
    time.sleep(0.5)  # let the dialog's opening transition end
    page.by_id("trigger_popup_save_button").click()  # empty: an error first
    page.see("Trigger Name must not be empty.")
    page.by_id("trigger_popup_name_input").send_keys("Nightly cleanup")
    page.by_id("trigger_popup_process_input").send_keys("cleanup")
    page.by_id("trigger_popup_cron_input").send_keys("0 2 * * *")
    page.by_id("trigger_popup_path_input").send_keys("C:/robots/cleanup.py")
    page.wait.until(lambda d: page.by_id("trigger_popup_time_date").get_attribute("value"))
    page.shot("trigger_popup", False)
    page.by_id("trigger_popup_save_button").click()
    page.see("Trigger 'Nightly cleanup' created.")
    # The success replaced the error: it does not stay on screen beside it (issue 25).
    notes = driver.execute_script(
        "return [...document.querySelectorAll('.q-notification')].map(n => n.innerText);"
    )
    assert not any("must not be empty" in note for note in notes), notes
    # C:/robots/… is not on this machine: said in that one note; read and closed.
    assert any("does not exist on this machine" in note for note in notes), notes
    driver.find_element(By.CSS_SELECTOR, ".q-notification button").click()
    page.wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".q-notification"))
    page.wait.until(lambda d: "Nightly cleanup" in page.by_id("trigger_table").text)

    for dark in (False, True):
        if dark:
            page.by_id("dark_mode_button").click()
            page.wait.until(
                lambda d: "body--dark" in d.find_element(By.TAG_NAME, "body").get_attribute("class")
            )
        walk(page, dark)

    # Dark mode is remembered across a reload.
    driver.refresh()
    page.by_id("settings_connect_button")
    page.wait.until(
        lambda d: "body--dark" in d.find_element(By.TAG_NAME, "body").get_attribute("class")
    )
    problems = page.console_problems()
    assert not problems, problems
    # Dark mode: every text of every tab and popup at WCAG AA contrast (issue 25).
    assert not LOW_CONTRAST, "\n".join(sorted(set(LOW_CONTRAST)))


def walk(page: Page, dark: bool) -> None:
    """Every tab and main popup, with a screenshot of each."""
    from selenium.webdriver.common.by import By

    page.tab("Settings")
    page.shot("settings", dark)
    page.tab("Overview")
    page.wait.until(lambda d: "export" in page.by_id("overview_failures_table").text)
    page.shot("overview", dark)
    page.tab("Triggers")
    page.wait.until(lambda d: "Monthly report" in page.by_id("trigger_table").text)
    page.shot("triggers", dark)
    page.by_id("trigger_table").find_element(
        By.XPATH, ".//td[contains(., 'Invoice robot')]"
    ).click()
    page.by_id("trigger_popup_save_button")
    page.shot("trigger_popup_edit", dark)
    page.by_id("trigger_popup_cancel_button").click()
    page.tab("Queues")
    queues = page.by_id("queues_table")
    page.wait.until(lambda d: "invoices" in queues.text)
    page.shot("queues", dark)
    queues.find_element(By.XPATH, ".//td[contains(., 'invoices')]").click()
    page.wait_footer("queue_dialog_table", "of 120")
    page.shot("queue_dialog", dark)
    # At 1400 px every column fits (Job and ID were off-screen) and rows stay one line.
    fit = page.driver.execute_script(
        "const m = arguments[0].querySelector('.q-table__middle');"
        "const row = arguments[0].querySelector('tbody tr');"
        "return [m.scrollWidth, m.clientWidth, row.getBoundingClientRect().height];",
        page.by_id("queue_dialog_table"),
    )
    assert fit[0] <= fit[1], f"the queue dialog scrolls sideways: {fit}"
    assert fit[2] < 60, f"a queue element row is {fit[2]} px high"
    page.by_id("queue_dialog_table").find_element(By.XPATH, ".//td[contains(., 'INV-119')]").click()
    page.by_id("queue_element_popup_save_button")
    page.shot("queue_element_popup", dark)
    page.by_id("queue_element_popup_close_button").click()
    time.sleep(0.3)
    page.by_id("queue_dialog_close_button").click()
    page.tab("Schedulers")
    page.see("Invoice robot")
    page.shot("schedulers", dark)
    page.tab("Jobs")
    page.wait.until(lambda d: "robot-1" in page.by_id("jobs_table").text)
    page.shot("jobs", dark)
    page.by_id("jobs_table").find_element(By.XPATH, ".//td[contains(., 'invoices')]").click()
    page.wait_footer("job_logs_table", "of 12")
    page.shot("job_logs_popup", dark)
    page.by_id("job_logs_popup_close_button").click()
    time.sleep(0.3)
    page.tab("Logs")
    page.wait_footer("logs_table", "of 61")
    page.shot("logs", dark)
    page.by_id("logs_table").find_element(
        By.XPATH, ".//td[contains(., 'The export server')]"
    ).click()
    page.by_id("log_popup_job_logs_button")
    page.shot("log_popup", dark)
    page.by_id("log_popup_close_button").click()
    time.sleep(0.3)
    page.tab("Constants")
    page.see("smtp.example.org")
    assert "not shown anywhere" not in page.driver.page_source
    page.shot("constants", dark)
    page.by_id("constants_table").find_element(
        By.XPATH, ".//td[contains(., 'Mail server')]"
    ).click()
    page.by_id("constant_popup_save_button")
    page.shot("constant_popup", dark)
    page.by_id("constant_popup_cancel_button").click()
    time.sleep(0.3)
    page.by_id("credentials_table").find_element(
        By.XPATH, ".//td[contains(., 'Mail robot')]"
    ).click()
    page.by_id("credential_popup_save_button")
    page.shot("credential_popup", dark)
    page.by_id("credential_popup_cancel_button").click()
    time.sleep(0.3)
    page.tab("API")
    page.by_id("api_tokens_table")
    page.shot("api", dark)
    page.by_id("api_token_new_button").click()
    page.by_id("api_token_create_button")
    page.shot("api_token_popup", dark)
    page.by_id("api_token_cancel_button").click()
    time.sleep(0.3)
