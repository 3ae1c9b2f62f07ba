"""The popup that creates or edits a trigger of any kind.

A new-trigger popup is persistent (a stray click outside must not lose a half-filled
form); an existing trigger's popup adds Enable, Disable, Kill (only while running) and
Delete. Status changes go through the data layer's state machine (conditional updates),
so an admin and a Scheduler changing one trigger at once cannot overwrite each other, and
a change the trigger's status does not allow (Enable while it runs) is refused with a
message.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import available_timezones

from nicegui import ui

from openorch.database import (
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
    TriggerStatus,
    TriggerType,
)
from openorch.masking import mask
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close, question_popup
from openorch.orchestrator.popups.next_runs_preview import NextRunsPreview
from openorch.orchestrator.widgets import DatetimeInput, KeptSecretInput
from openorch.store import validation as v
from openorch.store.errors import TransitionRefused
from openorch.store.runs.schedule import CalendarRule

CRON_HELP_URL = "https://crontab.guru/"

#: A trigger time at most this far in the past means "now" (the time input holds minutes
#: only, and the minute may pass while the admin types): no "create anyway?" question.
NOW_TOLERANCE = timedelta(minutes=5)

#: The calendar rule choice: stored name → what the admin reads ("" = no rule).
RULE_OPTIONS = {"": "Run on every day the cron names"} | {
    rule.name: rule.value for rule in CalendarRule
}

#: The "after a failure" choice: stored value → what the admin reads.
AFTER_FAILURE_OPTIONS = {
    False: "Stop: stay Failed until enabled (default)",
    True: "Keep running: run again when next due",
}


def missing_path_warning(path: str, is_git: bool) -> str | None:
    """What to warn about when a trigger's process path is not on this machine: a
    warning, not an error (robots may have the file where the Orchestrator does not).
    Git URLs are not checked: they are cloned by the robots."""
    if is_git or not path.strip():
        return None
    try:
        if Path(path.strip()).expanduser().exists():
            return None
    except OSError:  # a name the file system cannot even look at (too long, bad bytes)
        pass
    return (
        f"Note: the process path {mask(path.strip())!r} does not exist on this machine (the "
        "Orchestrator's). Fine if the robots have it there; otherwise its runs will fail."
    )


#: How many coming runs the cron field lists under itself.
CRON_RUNS_SHOWN = 5


def describe_cron(cron_expr: str, after: datetime | None = None) -> tuple[str, list[datetime]]:
    """What the cron field says as the admin types: why it is wrong ('' when it is
    not), and its next five runs when it is right."""
    text = cron_expr.strip()
    if not text:
        return "", []
    try:
        v.check_cron(text, label="Cron")
    except ValueError as error:
        return str(error), []
    return "", v.next_cron_times(text, after or datetime.now(), CRON_RUNS_SHOWN)


@dataclass
class TriggerForm:
    """What the trigger dialog holds when Save is clicked (read once, before any await)."""

    kind: TriggerType
    name: str
    process: str
    path: str
    args: str
    is_git: bool
    git_branch: str | None
    priority: int
    is_blocking: bool
    whitelist: list[str]
    keep_running: bool | None
    cron: str = ""
    queue: str = ""
    batch: int = 1
    next_run: datetime | None = None
    zone: str | None = None
    calendar: str | None = None
    rule: str | None = None
    window_start: str | None = None
    window_end: str | None = None


class TriggerPopup:
    """Create (trigger is None) or edit a trigger. Test ids start with `trigger_popup_`."""

    def __init__(
        self,
        client_store: ClientStore,
        trigger_type: TriggerType,
        trigger: Trigger | None,
        on_change: Callable[[], Awaitable[None]],
    ) -> None:
        self.client_store = client_store
        self.trigger_type = trigger_type
        self.trigger = trigger
        self.on_change = on_change
        verb = "Update" if trigger else "New"
        with (
            tid(ui.dialog(value=True), "trigger_popup") as self.dialog,
            ui.card().classes("w-full max-w-3xl"),
        ):
            ui.label(f"{verb} {trigger_type.value} Trigger").classes("text-xl")
            self.name_input = self._input("Trigger Name", "name")
            self.process_input = self._input("Process Name", "process")
            self.cron_input = self._input("Cron expression", "cron")
            self.cron_input.on_value_change(self._cron_changed)
            with (
                self.cron_input.add_slot("append"),
                tid(ui.link(target=CRON_HELP_URL, new_tab=True), "trigger_popup_cron_help"),
            ):
                ui.icon("help").tooltip(f"Cron syntax help: {CRON_HELP_URL}")
            self.cron_runs = tid(ui.label("").classes("text-sm -mt-2"), "trigger_popup_cron_runs")
            with ui.row().classes("items-center gap-2"):
                self.time_input = DatetimeInput(
                    "Trigger Time", "trigger_popup_time", allow_empty=False
                )
                self.now_button = tid(
                    ui.button("Run now", icon="play_arrow", on_click=self._set_now).props(
                        "flat no-caps"
                    ),
                    "trigger_popup_now_button",
                )
                self.now_button.tooltip(
                    "Set the time to now: the trigger runs as soon as a Scheduler polls"
                )
            self._calendar_fields()
            self.queue_input = self._input("Queue Name", "queue")
            self.batch_input = tid(
                ui.number("Min Batch Size", value=1, min=1, precision=0, format="%.0f").classes(
                    "w-full"
                ),
                "trigger_popup_batch_input",
            )
            # A git URL may hold a token: such a path is kept on the server, like a
            # webhook URL (the input shows it masked and keeps it unless replaced).
            self.path = KeptSecretInput("Process Path", "trigger_popup_path_input", password=False)
            self.path_input = self.path.input
            self.git_check = tid(ui.checkbox("Is path a Git Repo?"), "trigger_popup_git_check")
            self.branch_input = self._input("Git Branch/Tag (empty: the default branch)", "branch")
            self.branch_input.bind_visibility_from(self.git_check, "value")
            self.args_input = self._input("Process Arguments", "args")
            self.blocking_check = tid(
                ui.checkbox("Is process blocking?", value=True), "trigger_popup_blocking_check"
            )
            self.after_failure_select = tid(
                ui.select(AFTER_FAILURE_OPTIONS, value=False, label="After a failure").classes(
                    "w-full"
                ),
                "trigger_popup_after_failure_select",
            )
            self.priority_input = tid(
                ui.number("Priority", value=0, precision=0, format="%.0f").classes("w-full"),
                "trigger_popup_priority_input",
            )
            self.whitelist_input = tid(
                ui.input_chips("Scheduler whitelist (empty: any Scheduler)", value=[]).classes(
                    "w-full"
                ),
                "trigger_popup_whitelist_input",
            )
            if trigger is not None:
                with ui.row():
                    tid(
                        ui.button("Enable", on_click=guarded(self.enable)),
                        "trigger_popup_enable_button",
                    )
                    tid(
                        ui.button("Disable", on_click=guarded(self.disable)),
                        "trigger_popup_disable_button",
                    )
                    if trigger.process_status in (TriggerStatus.RUNNING, TriggerStatus.PAUSING):
                        tid(
                            ui.button("Kill", color="negative", on_click=guarded(self.kill)),
                            "trigger_popup_kill_button",
                        )
                    tid(
                        ui.button("Delete", color="negative", on_click=guarded(self.delete)),
                        "trigger_popup_delete_button",
                    )
            else:
                self.dialog.props("persistent")
            with ui.row():
                self.save_button = tid(
                    ui.button("Save", on_click=guarded(self._save_once)),
                    "trigger_popup_save_button",
                )
                tid(ui.button("Cancel", on_click=self.dialog.close), "trigger_popup_cancel_button")
        forget_on_close(self.dialog)
        self._show_fields_of_kind()
        self._fill()
        if trigger is None and trigger_type == TriggerType.SINGLE:
            self._set_now()  # the usual single trigger: run it now
        if trigger_type != TriggerType.SINGLE:
            with self.dialog:
                ui.timer(0.01, guarded(self._load_calendars), once=True)

    def _calendar_fields(self) -> None:
        """Zone, calendar, rule and the preview (scheduled); zone, calendar and the time
        window (queue). Every check is the data layer's; the preview shows its message."""
        self.zone_input = tid(
            ui.input(
                "Time zone (empty: this server's local time)",
                autocomplete=sorted(available_timezones()),
            ).classes("w-full"),
            "trigger_popup_zone_input",
        )
        self.zone_input.on_value_change(self._rule_changed)
        self.cron_input.on_value_change(self._rule_changed)
        with ui.row().classes("w-full items-center gap-2"):
            self.calendar_select = tid(
                ui.select({"": "No calendar"}, value="", label="Calendar").classes("grow"),
                "trigger_popup_calendar_select",
            )
            self.calendar_select.on_value_change(self._rule_changed)
            self.rule_select = tid(
                ui.select(RULE_OPTIONS, value="", label="On non-working days").classes("grow"),
                "trigger_popup_rule_select",
            )
            self.rule_select.on_value_change(self._rule_changed)
            self.working_days_button = tid(
                ui.button("Working days", icon="work", on_click=self._working_days).props(
                    "flat no-caps"
                ),
                "trigger_popup_working_days_button",
            )
            self.working_days_button.tooltip("Mon–Fri minus the calendar's days")
        with ui.row().classes("w-full gap-2") as self.window_row:
            self.window_start_input = tid(
                ui.input("Start from (HH:MM, empty: any time)").classes("grow"),
                "trigger_popup_window_start_input",
            )
            self.window_end_input = tid(
                ui.input("Start until (HH:MM)").classes("grow"),
                "trigger_popup_window_end_input",
            )
        self.preview = NextRunsPreview()
        #: A save is in flight (checking, asking about a past time, or writing): a second
        #: click must not start another one, or one dialog creates two triggers.
        self._saving = False
        #: The saved rule (an edited trigger): while unchanged, the stored time stays.
        self._loaded_rule: tuple[str, str, str, str] | None = None
        self._ready = False  # calendars loaded: the preview may run

    def _rule_values(self) -> tuple[str, str, str, str]:
        return (
            (self.cron_input.value or "").strip(),
            (self.zone_input.value or "").strip(),
            str(self.calendar_select.value or ""),
            str(self.rule_select.value or ""),
        )

    async def _load_calendars(self) -> None:
        """The calendar choices (and the browser's zone), then the first preview."""
        calendars = await off_loop(self.client_store.store.get_calendars)
        options = {"": "No calendar"} | {str(item.id): item.name for item in calendars}
        current = getattr(self.trigger, "calendar_id", None)
        self.calendar_select.set_options(options, value=str(current) if current else "")
        await self.preview.detect_browser_zone()
        self._ready = True
        await self._rule_changed()

    def _working_days(self) -> None:
        """The one-click choice: run on Mon–Fri, minus the calendar's days."""
        self.rule_select.value = "WORKING_DAYS"

    async def _rule_changed(self) -> None:
        """Show the next runs of the rule as typed; a new rule also fills Trigger Time
        with its first run (an unchanged one keeps the stored time)."""
        if self.trigger_type != TriggerType.SCHEDULED or not self._ready:
            return
        values = self._rule_values()
        cron, zone, calendar, rule = values
        if not cron:
            return
        runs = await self.preview.update(
            self.client_store.store, cron, zone or None, calendar or None, rule or None
        )
        if runs and values != self._loaded_rule:
            self.time_input.set_datetime(runs[0])

    @staticmethod
    def _input(label: str, name: str) -> ui.input:
        return tid(ui.input(label).classes("w-full"), f"trigger_popup_{name}_input")

    def _show_fields_of_kind(self) -> None:
        kind = self.trigger_type
        self.cron_input.visible = kind == TriggerType.SCHEDULED
        self.cron_runs.visible = kind == TriggerType.SCHEDULED
        self.zone_input.visible = kind != TriggerType.SINGLE
        self.calendar_select.visible = kind != TriggerType.SINGLE
        self.rule_select.visible = kind == TriggerType.SCHEDULED
        self.working_days_button.visible = kind == TriggerType.SCHEDULED
        self.preview.container.visible = kind == TriggerType.SCHEDULED
        self.window_row.visible = kind == TriggerType.QUEUE
        self.time_input.visible = kind in (TriggerType.SINGLE, TriggerType.SCHEDULED)
        self.queue_input.visible = kind == TriggerType.QUEUE
        self.batch_input.visible = kind == TriggerType.QUEUE
        self.now_button.visible = kind == TriggerType.SINGLE
        # A Single trigger runs once: after a failure there is nothing to keep running.
        self.after_failure_select.visible = kind != TriggerType.SINGLE

    def _set_now(self) -> None:
        self.time_input.set_datetime(datetime.now())

    def _fill(self) -> None:
        trigger = self.trigger
        if trigger is None:
            return
        self.name_input.value = trigger.trigger_name
        self.process_input.value = trigger.process_name
        if mask(trigger.process_path) != trigger.process_path:
            self.path.keep(mask(trigger.process_path))
        else:
            self.path_input.value = trigger.process_path
        self.args_input.value = trigger.process_args or ""
        self.git_check.value = trigger.is_git_repo
        self.branch_input.value = trigger.git_branch or ""
        self.blocking_check.value = trigger.is_blocking
        self.priority_input.value = trigger.priority
        self.whitelist_input.value = trigger.whitelist
        self.after_failure_select.value = trigger.keeps_running_after_failure
        if isinstance(trigger, ScheduledTrigger | QueueTrigger):
            self.zone_input.value = trigger.time_zone or ""
        if isinstance(trigger, ScheduledTrigger):
            self.rule_select.value = trigger.calendar_rule or ""
            self.cron_input.value = trigger.cron_expr
        if isinstance(trigger, QueueTrigger):
            self.window_start_input.value = trigger.window_start or ""
            self.window_end_input.value = trigger.window_end or ""
        if isinstance(trigger, ScheduledTrigger):
            self._loaded_rule = (
                trigger.cron_expr.strip(),
                trigger.time_zone or "",
                str(trigger.calendar_id or ""),
                trigger.calendar_rule or "",
            )
        if isinstance(trigger, SingleTrigger | ScheduledTrigger):
            self.time_input.set_datetime(trigger.next_run)
        if isinstance(trigger, QueueTrigger):
            self.queue_input.value = trigger.queue_name
            self.batch_input.value = trigger.min_batch_size

    def _cron_changed(self) -> None:
        """Checked as typed: what is wrong, in words, or the cron's next five runs under
        the field; a valid expression also fills Trigger Time with its next run."""
        problem, runs = describe_cron(self.cron_input.value or "")
        if problem:
            self.cron_runs.text = problem
            self.cron_runs.classes(add="text-negative", remove="text-grey-7")
        else:
            self.cron_runs.text = (
                "Next runs: " + ", ".join(moment.strftime("%a %d-%m-%Y %H:%M") for moment in runs)
                if runs
                else ""
            )
            self.cron_runs.classes(add="text-grey-7", remove="text-negative")
        # Without a zone or calendar rule the cron's next run is the trigger's; with one,
        # the preview below computes it (and fills Trigger Time).
        if (self.zone_input.value or "").strip() or self.rule_select.value:
            return
        if runs and self._rule_values() != self._loaded_rule:
            self.time_input.set_datetime(runs[0])

    # --- reading the form ---------------------------------------------------------

    def _text(
        self,
        element: ui.input,
        field: str,
        label: str,
        *,
        required: bool = True,
        model: type[Trigger] = Trigger,
    ) -> str:
        value = (element.value or "").strip() if required else (element.value or "")
        checked = v.check_text(
            model, field, value, required=required, label=label, nonblank=required
        )
        return checked or ""

    def _process_path(self) -> str:
        """The typed path, or the stored one when it holds a secret and nothing was typed."""
        if self.path.keeping and self.path.typed() is None and self.trigger is not None:
            return self.trigger.process_path
        return self._text(self.path_input, "process_path", "Process Path")

    def _integer(self, element: ui.number, label: str, minimum: int | None = None) -> int:
        if element.value is None or element.value == "":
            raise ValueError(f"{label} is required.")
        number = float(element.value)
        if not number.is_integer():
            raise ValueError(f"{label} must be a whole number.")
        return v.check_int(label, int(number), minimum=minimum)

    async def _save_once(self) -> None:
        """Save, at most one at a time: the button is disabled and a click that arrives
        while a save is in flight (a double click, a click while the past-time question is
        open or while the data layer writes) is ignored. Without this, two clicks ran two
        saves and one dialog could create two triggers."""
        if self._saving:
            return
        self._saving = True
        self.save_button.disable()
        try:
            await self.save()
        finally:
            self._saving = False
            if not self.save_button.is_deleted:
                self.save_button.enable()

    async def save(self) -> None:
        """Check the form, ask about a past time, then create or update the trigger.

        The form checks only what an admin types (required fields, named by their labels;
        whole numbers); every rule about the values themselves (whitelist, lengths, characters)
        is the data layer's, applied by the create and update calls; the cron is checked
        first only to say the right thing when it leaves the time empty."""
        # Every value is read before the first await: what is saved is the form as it was
        # when Save was clicked, not as it is after the question below was answered.
        form = self._read_form()
        if not await self._past_time_confirmed(form.next_run):
            return
        if self.trigger is None:
            await off_loop(self._create, form)
            done = f"Trigger '{form.name}' created."
        else:
            self._copy_form_onto(self.trigger, form)
            await off_loop(self.client_store.store.update_trigger, self.trigger)
            done = f"Trigger '{form.name}' updated."
        # One result note: saved, with the warning when the path is not on this machine.
        warning = missing_path_warning(form.path, form.is_git)
        if warning:
            notify_result(f"{done} {warning}", "warning", multi_line=True, close_button=True)
        else:
            notify_result(done, "positive")
        self.dialog.close()
        await self.on_change()

    def _read_form(self) -> "TriggerForm":
        """The form's values, checked as far as the form checks them (see `save`)."""
        kind = self.trigger_type
        is_git = bool(self.git_check.value)
        branch = self._text(self.branch_input, "git_branch", "Git Branch/Tag", required=False)
        form = TriggerForm(
            kind=kind,
            name=self._text(self.name_input, "trigger_name", "Trigger Name"),
            process=self._text(self.process_input, "process_name", "Process Name"),
            path=self._process_path(),
            args=self._text(self.args_input, "process_args", "Process Arguments", required=False),
            is_git=is_git,
            git_branch=branch if is_git and branch.strip() else None,
            priority=self._integer(self.priority_input, "Priority"),
            is_blocking=bool(self.blocking_check.value),
            whitelist=[str(name) for name in (self.whitelist_input.value or [])],
            keep_running=(
                None if kind == TriggerType.SINGLE else bool(self.after_failure_select.value)
            ),
        )
        if kind == TriggerType.SCHEDULED:
            form.cron = self._text(
                self.cron_input, "cron_expr", "Cron expression", model=ScheduledTrigger
            )
            # Said before the time is read: a cron that does not parse leaves the time empty,
            # and "the cron is wrong" is the message that helps.
            v.check_cron(form.cron, label="Cron")
        if kind == TriggerType.QUEUE:
            form.queue = self._text(
                self.queue_input, "queue_name", "Queue Name", model=QueueTrigger
            )
            form.batch = self._integer(self.batch_input, "Min Batch Size", minimum=1)
        form.zone = (self.zone_input.value or "").strip() or None
        form.calendar = str(self.calendar_select.value or "") or None
        form.rule = str(self.rule_select.value or "") or None
        form.window_start = (self.window_start_input.value or "").strip() or None
        form.window_end = (self.window_end_input.value or "").strip() or None
        if kind in (TriggerType.SINGLE, TriggerType.SCHEDULED):
            form.next_run = self.time_input.get_datetime()
        return form

    @staticmethod
    async def _past_time_confirmed(next_run: datetime | None) -> bool:
        """True unless the time is in the past and the admin declines to save it."""
        if next_run is None or next_run >= datetime.now() - NOW_TOLERANCE:
            return True
        return bool(
            await question_popup(
                "The selected time is in the past. Create the trigger anyway?", "Create", "Cancel"
            )
        )

    def _create(self, form: "TriggerForm") -> uuid.UUID:
        """Create the trigger the form describes (in a worker thread), by keyword: the
        three kinds' positional orders differ."""
        store = self.client_store.store
        if form.kind == TriggerType.SINGLE:
            return store.create_single_trigger(
                trigger_name=form.name,
                process_name=form.process,
                next_run=form.next_run,  # type: ignore[arg-type]  # the store names it if missing
                process_path=form.path,
                process_args=form.args,
                is_git_repo=form.is_git,
                is_blocking=form.is_blocking,
                priority=form.priority,
                scheduler_whitelist=form.whitelist,
                git_branch=form.git_branch,
            )
        if form.kind == TriggerType.SCHEDULED:
            return store.create_scheduled_trigger(
                trigger_name=form.name,
                process_name=form.process,
                cron_expr=form.cron,
                next_run=form.next_run,  # type: ignore[arg-type]  # the store names it if missing
                process_path=form.path,
                process_args=form.args,
                is_git_repo=form.is_git,
                is_blocking=form.is_blocking,
                priority=form.priority,
                scheduler_whitelist=form.whitelist,
                git_branch=form.git_branch,
                keep_running_after_failure=form.keep_running,
                time_zone=form.zone,
                calendar_id=form.calendar,
                calendar_rule=form.rule,
            )
        return store.create_queue_trigger(
            trigger_name=form.name,
            process_name=form.process,
            queue_name=form.queue,
            process_path=form.path,
            process_args=form.args,
            is_git_repo=form.is_git,
            is_blocking=form.is_blocking,
            min_batch_size=form.batch,
            priority=form.priority,
            scheduler_whitelist=form.whitelist,
            git_branch=form.git_branch,
            keep_running_after_failure=form.keep_running,
            window_start=form.window_start,
            window_end=form.window_end,
            time_zone=form.zone,
            calendar_id=form.calendar,
        )

    @staticmethod
    def _copy_form_onto(trigger: Trigger, form: "TriggerForm") -> None:
        """Copy the form onto the trigger being edited (the data layer checks the values
        when it saves them)."""
        trigger.trigger_name = form.name
        trigger.process_name = form.process
        trigger.process_path = form.path
        trigger.process_args = form.args
        trigger.is_git_repo = form.is_git
        trigger.git_branch = form.git_branch
        trigger.is_blocking = form.is_blocking
        trigger.priority = form.priority
        trigger.keep_running_after_failure = form.keep_running
        trigger.scheduler_whitelist = form.whitelist  # the data layer checks and normalises it
        if isinstance(trigger, ScheduledTrigger):
            trigger.cron_expr = form.cron
            trigger.time_zone = form.zone
            trigger.calendar_id = form.calendar  # type: ignore[assignment]  # checked by the store
            trigger.calendar_rule = form.rule
        if isinstance(trigger, SingleTrigger | ScheduledTrigger) and form.next_run is not None:
            trigger.next_run = form.next_run
        if isinstance(trigger, QueueTrigger):
            trigger.queue_name = form.queue
            trigger.min_batch_size = form.batch
            trigger.time_zone = form.zone
            trigger.calendar_id = form.calendar  # type: ignore[assignment]  # checked by the store
            trigger.window_start = form.window_start
            trigger.window_end = form.window_end

    # --- status buttons -----------------------------------------------------------

    def _require(self) -> Trigger:
        if self.trigger is None:
            raise ValueError("Save the trigger first.")
        return self.trigger

    async def enable(self) -> None:
        """Enable: the trigger becomes IDLE, ready to run when due. Refused (with the
        data layer's message) while it runs: a second Scheduler would start it again."""
        await self._apply(self.client_store.store.enable_trigger)

    async def disable(self) -> None:
        """Disable: a running trigger is PAUSING (it stops after this run), others PAUSED."""
        await self._apply(self.client_store.store.disable_trigger)

    async def kill(self) -> None:
        """Kill: ask the running trigger's Scheduler to stop its process tree."""
        await self._apply(self.client_store.store.kill_trigger)

    async def _apply(self, change: Callable[[uuid.UUID], TriggerStatus]) -> None:
        """Ask the state machine; a refusal is a warning and leaves the popup open."""
        trigger = self._require()
        try:
            new_status = await off_loop(change, trigger.id)
        except TransitionRefused as refusal:
            ui.notify(str(refusal), type="warning")
            return
        hint = {
            TriggerStatus.PAUSING: ": it pauses when the current run ends",
            TriggerStatus.KILLING: ": its Scheduler stops the process",
            TriggerStatus.RUNNING: ": the current run goes on, and it runs again when due",
        }.get(new_status, "")
        notify_result(f"Trigger status set to '{new_status.value}'{hint}.", "positive")
        self.dialog.close()
        await self.on_change()

    async def delete(self) -> None:
        """Delete the trigger after asking."""
        trigger = self._require()
        if not await question_popup(
            f"Delete trigger '{trigger.trigger_name}'?", "Delete", yes_color="negative"
        ):
            return
        await off_loop(self.client_store.store.delete_trigger, trigger.id)
        notify_result(f"Trigger '{trigger.trigger_name}' deleted.", "positive")
        self.dialog.close()
        await self.on_change()
