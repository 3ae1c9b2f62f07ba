"""A real headless Chromium for the Orchestrator tests that drive its page as an admin's
browser does (test_browser.py, the local-mode soak test): the driver, the page by test
id, and reading the address `openorch o` prints."""

import contextlib
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
from pathlib import Path
from typing import Any

from support.databases import missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to screenshots/ (ignored by git); OPENORCH_UPDATE_SCREENSHOTS=1 writes
# them into docs/images/ to refresh the admin guide's pictures.
IMAGES = ROOT / (
    "docs/images" if os.environ.get("OPENORCH_UPDATE_SCREENSHOTS") == "1" else "screenshots"
)


@contextlib.contextmanager
def running_orchestrator(
    folder: Path, db_url: str, key: str, *args: str
) -> Iterator[tuple[str, Path]]:
    """`openorch o -d` as an admin starts it (on a free port, this checkout's source,
    no connection from the environment), over `db_url`; yields the printed address with
    the token and the server's output file, and stops it afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "OPENORCH_HOME": str(folder / "home"),
    }
    # PYTEST_CURRENT_TEST would make NiceGUI think it runs inside pytest.
    for name in ("OpenOrchestratorConnString", "OpenOrchestratorKey", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    log_path = folder / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "openorch", "o", "-d", "-p", str(port)),
                *("--conn", db_url, "--key", key, *args),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
    try:
        yield printed_address(process, log_path, port), log_path
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


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Headless Chromium through the Debian chromedriver (no Selenium Manager), at
    1400x900, on a new, empty profile (removed after): a second driver is a second
    browser profile, sharing nothing. Skipped locally (failed in CI) when Chromium is
    not installed."""
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

#: What the dark-mode walk found below WCAG AA (the walk fails on any).
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
        check the contrast of every visible text: `LOW_CONTRAST`)."""
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
