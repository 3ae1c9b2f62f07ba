"""A real headless Chromium against `python -m openorch o` started as a subprocess, at
1400x900: connect, create a scheduled trigger, page a 120-element queue from its first
render, see the badges, walk every tab and main popup in light and dark mode taking the
screenshots docs/orchestrator.md shows, and fail on any browser console error."""

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from openorch.database import JobStatus, LogLevel, QueueStatus, TriggerStatus
from openorch.store import Store
from support.browser import (
    CHROMEDRIVER,
    CHROMIUM,
    LOW_CONTRAST,
    Page,
    chromium,
    running_orchestrator,
)
from support.databases import missing


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
    with running_orchestrator(tmp_path, sqlite_db_url, crypto_key) as (address, _log):
        yield address


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium through the Debian chromedriver (no Selenium Manager)."""
    with chromium() as driver:
        yield driver


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
