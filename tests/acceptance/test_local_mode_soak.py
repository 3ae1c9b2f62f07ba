"""Local mode keeps every acknowledged write under real load (issue 22, section 2).

One local-mode SQLite file, used as a new admin uses it, all at once:
- the Orchestrator server (`openorch o`, local mode) driven through its real page in
  Chromium: constants, credentials, triggers, queue elements and API tokens made in
  their popups, with page reloads and Settings visits between them (each reload opens a
  new tab's store beside the old one's, the route that lost saves);
- two headless Schedulers started, stopped (SIGTERM) and killed (SIGKILL) in a seeded
  random order, running robots that log, claim and finish queue elements;
- SDK programs logging and adding bulk elements the whole time, two at a time, each
  closing the file after a few dozen rounds while the others still use it.

Every program writes down each write only after the call returned ("acknowledged").
At the end, with every process stopped, a fresh process must find every acknowledged
write, `PRAGMA integrity_check` must say ok, no process may have been seen holding the
-wal or -shm open as deleted (every process's /proc/<pid>/fd, after each step of the
page and before anyone is stopped), and "database is locked" must never have been
shown or logged.
The counts (acknowledged / found) are printed so a failure says what was lost.
`OPENORCH_SOAK_SEED` replays another order of Scheduler starts and stops.
"""

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from openorch.config import local_settings
from openorch.orchestrator.main import free_port
from openorch.store import Store
from support.browser import CHROMEDRIVER, CHROMIUM, Page, chromium, printed_address
from support.databases import missing
from support.headless import Headless

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix", reason="POSIX signals and /proc"),
]

SCRIPTS = Path(__file__).resolve().parents[1] / "support" / "sdk_scripts"
SRC = Path(__file__).resolve().parents[2] / "src"
SEED = int(os.environ.get("OPENORCH_SOAK_SEED", "22"))
LOCKED = "database is locked"
#: UI writes per kind (constant, credential, trigger, queue element, API token).
UI_ROUNDS = 2
#: Scheduler starts, stops and kills to see at least, and for at least this long (s).
SCHEDULER_ACTIONS = 8
MIN_SECONDS = 35.0

#: Process C: everything the database holds that the test looks for, and its integrity.
READ_BACK = textwrap.dedent(
    """
    import json, sqlite3, sys
    connection = sqlite3.connect(sys.argv[1])
    def column(sql):
        return [row[0] for row in connection.execute(sql)]
    print(json.dumps({
        "constant": column('SELECT name FROM "Constants"'),
        "credential": column('SELECT name FROM "Credentials"'),
        "trigger": column('SELECT trigger_name FROM "Triggers"'),
        "token": column('SELECT name FROM "ApiTokens"'),
        "element": column('SELECT reference FROM "Queues"'),
        "done": column('SELECT reference FROM "Queues" WHERE status = \\'DONE\\''),
        "log": column('SELECT log_message FROM "Logs"'),
        "integrity": column("PRAGMA integrity_check"),
    }))
    connection.close()
    """
)


def deleted_database_files(database: Path) -> list[str]:
    """Every process on this machine that holds the database's -wal or -shm (or the file
    itself) open although it was deleted: the sign of a process writing into a WAL that
    no other process reads."""
    found = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            entries = list(fd_dir.iterdir())
        except OSError:  # gone, or not ours
            continue
        for entry in entries:
            try:
                target = os.readlink(entry)
            except OSError:
                continue
            if target.startswith(str(database)) and target.endswith("(deleted)"):
                found.append(f"{fd_dir.parent.name}: {target}")
    return found


class Orchestrator:
    """`openorch o` in local mode (nothing configured) on a free port."""

    def __init__(self, folder: Path, home: Path) -> None:
        self.port = free_port()
        self.log_path = folder / "orchestrator.log"
        env = {
            **os.environ,
            "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "OPENORCH_HOME": str(home),
        }
        for name in ("OpenOrchestratorConnString", "OpenOrchestratorKey", "PYTEST_CURRENT_TEST"):
            env.pop(name, None)
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "openorch", "o", "-d", "-p", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=folder,
            )
        self.address = printed_address(self.process, self.log_path, self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SchedulerChaos(threading.Thread):
    """Two headless Schedulers in local mode, started, SIGTERMed and SIGKILLed in a seeded
    random order until told to stop."""

    NAMES = ("soak-1", "soak-2")

    def __init__(self, folder: Path, seed: int) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.rng = random.Random(seed)
        self.running: dict[str, Headless | None] = dict.fromkeys(self.NAMES)
        self.every: list[Headless] = []
        self.events: list[str] = []
        self.error: BaseException | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                self.step()
                self.halt.wait(self.rng.uniform(1.5, 4.0))
        except BaseException as error:  # reported by the test's thread
            self.error = error

    def step(self) -> None:
        name = self.rng.choice(self.NAMES)
        current = self.running[name]
        if current is None or current.process.poll() is not None:
            started = Headless(
                self.folder,
                None,
                None,
                "--name",
                name,
                "--poll-interval",
                "0.5",
                "--grace-period",
                "3",
                "--heartbeat-timeout",
                "10",
            )
            self.every.append(started)
            self.running[name] = started
            self.events.append(f"start {name}")
        elif self.rng.random() < 0.5:
            current.process.send_signal(signal.SIGTERM)
            code = current.finish(timeout=30)
            # -SIGTERM: stopped while still starting, before its handler was installed.
            assert code in (0, -signal.SIGTERM), f"{name} exited {code}:\n{current.text()}"
            self.events.append(f"SIGTERM {name}")
        else:
            current.process.kill()
            current.process.wait()
            self.events.append(f"SIGKILL {name}")

    def stop_all(self) -> None:
        """Stop the loop, then every Scheduler still running, as an admin would (SIGTERM)."""
        self.halt.set()
        self.join(timeout=60)
        for scheduler in self.running.values():
            if scheduler is not None and scheduler.process.poll() is None:
                scheduler.process.send_signal(signal.SIGTERM)
                scheduler.finish(timeout=30)

    def kill_all(self) -> None:
        for scheduler in self.every:
            scheduler.kill()


class SdkWriters(threading.Thread):
    """SDK programs logging and adding bulk elements, two at a time: each writes a few
    dozen rounds, closes its connection and exits, and the next one starts (so processes
    close the database while others still use it, the moment that lost saves)."""

    def __init__(self, folder: Path, acks: Path, stop: Path, conn: str, key: str) -> None:
        super().__init__(daemon=True)
        self.folder, self.acks, self.stop_file, self.conn, self.key = folder, acks, stop, conn, key
        self.rng = random.Random(SEED + 1)
        self.every: list[subprocess.Popen[str]] = []
        self.slowest: list[float] = [0.0]
        #: SDK programs that failed, reported with the counts at the end.
        self.failures: list[str] = []
        self.error: BaseException | None = None
        self.halt = threading.Event()
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])}

    def run(self) -> None:
        try:
            running: list[subprocess.Popen[str]] = []
            while not self.halt.is_set():
                for writer in [w for w in running if w.poll() is not None]:
                    running.remove(writer)
                    self.collect(writer)
                if len(running) < 2:
                    running.append(self.spawn())
                self.halt.wait(self.rng.uniform(0.2, 1.0))
        except BaseException as error:  # reported by the test's thread
            self.error = error

    def spawn(self) -> subprocess.Popen[str]:
        number = len(self.every) + 1
        writer = subprocess.Popen(
            [
                sys.executable,
                str(SCRIPTS / "soak_writer.py"),
                f"sdk-writer-{number}",
                self.conn,
                self.key,
                str(self.acks / f"writer-{number}.txt"),
                str(self.stop_file),
                str(self.rng.randint(10, 60)),
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=(self.folder / f"writer-{number}.err").open("w"),
            text=True,
        )
        self.every.append(writer)
        return writer

    def collect(self, writer: subprocess.Popen[str]) -> None:
        output, _ = writer.communicate(timeout=60)
        if writer.returncode == 0:
            self.slowest.append(float(output.strip() or 0))
            return
        name = str(writer.args[2])  # type: ignore[index]
        errors = (self.folder / f"writer-{name.rsplit('-', 1)[1]}.err").read_text()
        self.failures.append(f"{name} exited {writer.returncode}: {errors.strip()[-300:]}")

    def stop_all(self) -> None:
        """Stop starting new ones; the running ones see the stop file and exit."""
        self.halt.set()
        self.join(timeout=60)
        for writer in self.every:
            if writer.returncode is None:
                self.collect(writer)

    def kill_all(self) -> None:
        for writer in self.every:
            if writer.poll() is None:
                writer.kill()


class Acks:
    """What the test itself was told is saved (the page's "... created." messages)."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, value: str) -> None:
        self.seen[kind].append(value)


def read_ack_files(folder: Path, into: Acks) -> None:
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            kind, _, value = line.partition("\t")
            into.add(kind, value)


class UiUser:
    """The admin in Chromium: makes one thing of each kind at a time through the popups
    and waits for the page to say it was saved before counting it acknowledged."""

    def __init__(self, page: Page, acks: Acks, database: Path) -> None:
        self.page = page
        self.acks = acks
        self.database = database
        self.count = 0
        #: What went wrong on the way, reported after the counts (so a failure also
        #: says what was lost).
        self.problems: list[str] = []

    def check(self, when: str) -> None:
        """Note a -wal/-shm any process holds open although deleted."""
        self.problems += [f"{when}: {p}" for p in deleted_database_files(self.database)]

    def check_page(self) -> None:
        if LOCKED in self.page.driver.page_source:
            self.problems.append(f"the page shows '{LOCKED}'")
        self.check("during the UI rounds")

    def attempt(self, work: Callable[[], None]) -> None:
        """Run UI steps; a page that stops answering is a problem reported with the
        counts at the end, after every process was stopped and the database read."""
        try:
            work()
        except Exception as error:
            where = [
                f"{frame.name}:{frame.lineno}"
                for frame in traceback.extract_tb(error.__traceback__)
                if frame.filename == __file__
            ]
            first = (str(error).strip().splitlines() or [""])[0][:400]
            self.problems.append(f"the page failed in {where}: {type(error).__name__} {first}")
            with contextlib.suppress(Exception):
                self.page.driver.save_screenshot(str(self.database.parent / "page-failed.png"))

    def last_saves(self) -> None:
        """Saves after the Schedulers and SDK programs closed the database."""
        self.check_page()
        self.reload()
        self.constant()
        self.api_token()
        self.check_page()

    def wait_connected(self) -> None:
        """Local mode connects by itself and opens Overview."""
        self.page.wait.until(
            lambda _d: "q-tab--active" in self.page.by_id("tab_overview").get_attribute("class")
        )

    def reload(self) -> None:
        self.page.driver.refresh()
        self.wait_connected()

    def visit_settings(self) -> None:
        self.tab("Settings")
        self.page.see("Local mode")
        self.tab("Overview")

    def click(self, test_id: str) -> None:
        """Click as a person would: a note still on screen over the button (the trigger's
        "path not on this machine" warning stays until closed) is closed first."""
        from selenium.common.exceptions import ElementClickInterceptedException

        for _ in range(10):
            try:
                self.page.by_id(test_id).click()
                return
            except ElementClickInterceptedException:
                self.page.driver.execute_script(
                    "document.querySelectorAll('.q-notification button')"
                    ".forEach(button => button.click());"
                )
                time.sleep(0.5)
        # Still covered (a note that came back, a dialog's backdrop fading): click the
        # element itself, as a person who moved the note aside would.
        self.page.driver.execute_script("arguments[0].click();", self.page.by_id(test_id))

    def tab(self, name: str) -> None:
        """Open a tab; a click lost while the page is busy (the soak loads the machine:
        CI once saw the Overview stay for 15 s) is clicked again, as a person would."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        tab = f"tab_{name.lower()}"
        for attempt in range(3):
            self.click(tab)
            try:
                WebDriverWait(self.page.driver, 15).until(
                    lambda _d: "q-tab--active" in self.page.by_id(tab).get_attribute("class")
                )
                return
            except TimeoutException:
                if attempt == 2:
                    raise

    def open_popup(self, button: str, first_input: str) -> None:
        """Click a button that opens a dialog; a click lost while a tab panel is still
        sliding in is clicked again, as a person would (the soak is about saves)."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        visible = f'[data-testid="{first_input}"]'
        for _ in range(3):
            self.click(button)
            try:
                WebDriverWait(self.page.driver, 5).until(
                    lambda d: d.execute_script(
                        "const e = document.querySelector(arguments[0]);"
                        "return !!e && e.offsetParent !== null;",
                        visible,
                    )
                )
                return
            except TimeoutException:
                continue

    def type_into(self, test_id: str, text: str) -> None:
        self.page.by_id(test_id).send_keys(text)

    def constant(self) -> None:
        name = self.name("constant")
        self.tab("Constants")
        self.open_popup("constant_new_button", "constant_popup_name_input")
        self.type_into("constant_popup_name_input", name)
        self.type_into("constant_popup_value_input", "made in the page")
        self.click("constant_popup_save_button")
        self.page.see(f"Constant '{name}' created.")
        self.acks.add("constant", name)

    def credential(self) -> None:
        name = self.name("credential")
        self.tab("Constants")
        self.open_popup("credential_new_button", "credential_popup_name_input")
        self.type_into("credential_popup_name_input", name)
        self.type_into("credential_popup_username_input", "robot")
        self.type_into("credential_popup_password_input", "secret")
        self.click("credential_popup_save_button")
        self.page.see(f"Credential '{name}' created.")
        self.acks.add("credential", name)

    def trigger(self) -> None:
        name = self.name("trigger")
        self.tab("Triggers")
        self.open_popup("trigger_new_scheduled_button", "trigger_popup_name_input")
        self.type_into("trigger_popup_name_input", name)
        self.type_into("trigger_popup_process_input", "yearly")
        self.type_into("trigger_popup_cron_input", "0 0 1 1 *")
        self.type_into("trigger_popup_path_input", "C:/robots/yearly.py")
        self.page.wait.until(
            lambda _d: self.page.by_id("trigger_popup_time_date").get_attribute("value")
        )
        self.click("trigger_popup_save_button")
        self.page.see(f"Trigger '{name}' created.")
        self.acks.add("trigger", name)

    def queue_element(self) -> None:
        reference = self.name("element")
        queue = f"ui-{reference}"  # its own queue: the message names it
        self.tab("Queues")
        self.open_popup("queue_new_button", "queue_element_popup_queue_input")
        self.type_into("queue_element_popup_queue_input", queue)
        self.type_into("queue_element_popup_reference_input", reference)
        self.click("queue_element_popup_save_button")
        self.page.see(f"Queue element created in {queue}.")
        self.acks.add("element", reference)

    def api_token(self) -> None:
        name = self.name("token")
        self.tab("API")
        self.open_popup("api_token_new_button", "api_token_name_input")
        self.type_into("api_token_name_input", name)
        self.click("api_token_create_button")
        self.page.see(f"Token '{name}' created.")
        self.click("api_token_done_button")
        self.acks.add("token", name)

    def name(self, kind: str) -> str:
        self.count += 1
        return f"soak-{kind}-{self.count}"


def ui_rounds(user: "UiUser", chaos: SchedulerChaos, writers: SdkWriters) -> None:
    """Each kind of save UI_ROUNDS times in a seeded order, a reload, a Settings visit
    or nothing between two saves, while the Schedulers and SDK programs churn."""
    user.wait_connected()
    rng = random.Random(SEED)
    actions = [user.constant, user.credential, user.trigger, user.queue_element, user.api_token]
    for _ in range(UI_ROUNDS):
        for action in rng.sample(actions, len(actions)):
            action()
            user.check_page()
            between = rng.choice(["reload", "settings", "none"])
            if between == "reload":
                user.reload()
            elif between == "settings":
                user.visit_settings()
            user.check_page()
            assert chaos.error is None and writers.error is None, (chaos.error, writers.error)
    user.reload()  # one more new tab: its store opens beside the old tab's
    user.check_page()


@pytest.fixture
def cleanup() -> Iterator[list[Callable[[], None]]]:
    """Things to end whatever happens, last registered first."""
    steps: list[Callable[[], None]] = []
    yield steps
    for step in reversed(steps):
        try:
            step()
        except Exception as error:  # keep cleaning up; the test already has its verdict
            print(f"cleanup: {error!r}", file=sys.stderr)


def test_local_mode_keeps_every_acknowledged_write(
    tmp_path: Path, cleanup: list[Callable[[], None]]
) -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("chromium")
    home = tmp_path / "home"
    acks_dir = tmp_path / "acks"
    acks_dir.mkdir()
    stop_file = tmp_path / "stop"
    print(f"\nsoak seed {SEED} (OPENORCH_SOAK_SEED replays another order)")

    orchestrator = Orchestrator(tmp_path, home)
    cleanup.append(orchestrator.stop)
    settings = local_settings(home)
    database = home / "openorch.db"
    assert settings.database_path == database and database.exists()

    # Robots: two queue triggers on the same queue, so both Schedulers find work.
    store = Store(settings.conn_string, crypto_key=settings.crypto_key)
    for number in (1, 2):
        store.create_queue_trigger(
            f"soak robot {number}",
            "soak robot",
            "soak",
            str(SCRIPTS / "soak_robot.py"),
            json.dumps({"queue": "soak", "acks": str(acks_dir), "batch": 10}),
            False,
            False,
            1,
        )
    store.close()

    writers = SdkWriters(tmp_path, acks_dir, stop_file, settings.conn_string, settings.crypto_key)
    cleanup.append(writers.kill_all)
    writers.start()

    chaos = SchedulerChaos(tmp_path, SEED)
    cleanup.append(chaos.kill_all)
    started = time.monotonic()
    chaos.start()

    acks = Acks()
    with chromium() as driver:
        user = UiUser(Page(driver), acks, database)
        driver.get(orchestrator.address)
        user.attempt(lambda: ui_rounds(user, chaos, writers))
        while (
            len(chaos.events) < SCHEDULER_ACTIONS or time.monotonic() - started < MIN_SECONDS
        ) and chaos.is_alive():
            time.sleep(0.5)
            user.check("while the Schedulers churn")
        user.check("before stopping anyone")
        stop_file.touch()
        writers.stop_all()
        chaos.stop_all()
        assert chaos.error is None and writers.error is None, (chaos.error, writers.error)
        # The sequence: the others closed the database; the page's saves stay.
        user.attempt(user.last_saves)
    orchestrator.stop()
    _wait_for_robots(acks_dir)

    read_ack_files(acks_dir, acks)
    done = subprocess.run(
        [sys.executable, "-c", READ_BACK, str(database)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (
        f"a fresh process cannot read the database: {done.stderr.strip()[-300:]}; "
        f"{user.problems[:5]}; {writers.failures[:3]}"
    )
    found = json.loads(done.stdout)
    print(f"Scheduler events ({len(chaos.events)}): {', '.join(chaos.events)}")
    print(f"SDK programs: {len(writers.every)}, slowest write {max(writers.slowest):.2f} s")
    lost = {}
    for kind in ("constant", "credential", "trigger", "token", "element", "done", "log"):
        acknowledged = set(acks.seen.get(kind, []))
        there = acknowledged & set(found[kind])
        print(f"{kind}: acknowledged {len(acknowledged)}, found {len(there)}")
        if there != acknowledged:
            lost[kind] = sorted(acknowledged - there)[:10]
    assert not lost, (
        f"acknowledged but not in the database: {lost}; {user.problems[:5]}; {writers.failures[:3]}"
    )
    assert not user.problems, user.problems[:10]
    assert not writers.failures, writers.failures[:3]
    assert found["integrity"] == ["ok"], found["integrity"]
    for kind in ("constant", "credential", "trigger", "token", "done", "log"):
        assert acks.seen.get(kind), f"nothing of kind {kind} was acknowledged"
    assert "SIGKILL soak-1" in chaos.events or "SIGKILL soak-2" in chaos.events, chaos.events
    assert "SIGTERM soak-1" in chaos.events or "SIGTERM soak-2" in chaos.events, chaos.events

    # "database is locked" was never logged, printed or written to a robot's output.
    texts = {"orchestrator": orchestrator.log_path.read_text(errors="replace")}
    texts.update({f"scheduler {i}": s.text() for i, s in enumerate(chaos.every)})
    for path in [*tmp_path.glob("writer-*.err"), *(home / "scheduler" / "logs").glob("*.txt")]:
        texts[path.name] = path.read_text(errors="replace")
    texts["Logs table"] = "\n".join(found["log"])
    locked = [where for where, text in texts.items() if LOCKED in text.lower()]
    assert not locked, f"'{LOCKED}' in: {locked}"


def _wait_for_robots(acks_dir: Path, timeout: float = 60) -> None:
    """Robots a killed Scheduler left behind finish their short batch by themselves."""
    deadline = time.monotonic() + timeout
    while True:
        robots = [
            process
            for process in psutil.process_iter(["cmdline"])
            if str(acks_dir) in " ".join(process.info["cmdline"] or [])
        ]
        if not robots:
            return
        if time.monotonic() > deadline:
            for robot in robots:
                robot.kill()
            return
        time.sleep(0.2)
