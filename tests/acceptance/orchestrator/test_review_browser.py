"""The Review tab in a real headless Chromium against `python -m openorch o` (issue 27):
an item waiting for review is opened, shows its history, and is decided with a comment
as the signed-in admin; no browser console error."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openorch.database import QueueStatus
from openorch.identity import TOKEN_ADMIN
from openorch.store import ReviewFilter, Store
from support.browser import CHROMEDRIVER, CHROMIUM, Page, chromium, running_orchestrator
from support.databases import missing


@pytest.fixture
def server(sqlite_db_url: str, crypto_key: str, tmp_path: Path) -> Iterator[str]:
    """The Orchestrator on a free port over a database with one item in review."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("chromium")
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    element = store.create_queue_element("claims", "CL-7", '{"customer": 99}')
    assert store.get_next_queue_element("claims") is not None
    store.set_queue_element_status(
        element.id, QueueStatus.FAILED, "Unknown customer 99", kind="business"
    )
    store.close()
    with running_orchestrator(tmp_path, sqlite_db_url, crypto_key) as (address, _log):
        yield address


@pytest.mark.slow
def test_decide_in_the_review_tab(server: str, sqlite_db_url: str, crypto_key: str) -> None:
    from selenium.webdriver.common.by import By

    with chromium() as driver:
        page = Page(driver)
        driver.get(server)
        page.by_id("settings_connect_button").click()
        page.see("Connected!")
        page.tab("Review")
        table = page.by_id("review_table")
        page.wait.until(lambda d: "CL-7" in table.text)
        table.find_element(By.XPATH, ".//td[contains(., 'CL-7')]").click()
        page.see("Sent to review")
        time.sleep(0.5)  # let the dialog's opening transition end
        page.by_id("review_popup_comment_input").send_keys("Customer merged into 12")
        page.by_id("review_popup_done_button").click()
        page.see("Decided: Done (handled by hand).")
        page.wait.until(lambda d: "CL-7" not in page.by_id("review_table").text)
        assert page.console_problems() == []
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    [entry] = store.list_review_items(ReviewFilter(state="decided"))
    assert (entry.item.decision, entry.item.comment, entry.item.decided_by) == (
        "done",
        "Customer merged into 12",
        TOKEN_ADMIN.label,
    )
    assert entry.element.status is QueueStatus.DONE
    store.close()
