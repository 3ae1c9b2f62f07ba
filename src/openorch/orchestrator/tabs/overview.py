"""Overview: what an admin wants to see at 8 am, on one screen.

Jobs of the last 24 hours and 7 days by outcome (a chart), failures by process, errors
logged, each queue's backlog, oldest NEW element and throughput, each Scheduler's
liveness and what it runs, the triggers that failed or are overdue, and the open alerts
(how many, and the newest few). Every figure is
a link to the tab behind it, filtered to what the figure counts.

The figures come from `Store.get_overview` (a few aggregate queries over indexes), so the
page costs the same on a database with a million jobs as on one with a hundred.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from nicegui import events, ui

from openorch.database import JobStatus, TriggerStatus
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, off_loop, tid
from openorch.orchestrator.tabs.triggers import is_overdue
from openorch.orchestrator.widgets import quiet_no_data, status_color
from openorch.store.ops.overview import OverviewFigures
from openorch.store.ops.table_sizes import TableSizes

#: Where a click on a figure goes: (tab name, filters) for the page frame.
Navigate = Callable[..., Awaitable[None]]

#: Job outcomes in the order the chart stacks them, with their chart colours.
CHART_STATUSES = (
    (JobStatus.DONE, "#21ba45"),
    (JobStatus.FAILED, "#c10015"),
    (JobStatus.KILLED, "#f2c037"),
    (JobStatus.RUNNING, "#31ccec"),
)


def age_text(since: datetime | None, now: datetime) -> str:
    """How long ago, in the largest two units ("3 d 4 h", "5 h 2 min", "42 s")."""
    if since is None:
        return ""
    seconds = max(int((now - since).total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def chart_options(figures: OverviewFigures) -> dict[str, Any]:
    """ECharts options: jobs started per day of the last week, stacked by outcome."""
    days = [day.strftime("%a %d-%m") for day, _ in figures.jobs_per_day]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "data": [status.value for status, _ in CHART_STATUSES]},
        "grid": {"left": 40, "right": 16, "top": 40, "bottom": 24},
        "xAxis": {"type": "category", "data": days},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": status.value,
                "type": "bar",
                "stack": "jobs",
                "color": colour,
                "data": [counts.get(status, 0) for _, counts in figures.jobs_per_day],
            }
            for status, colour in CHART_STATUSES
        ],
    }


def queue_rows(figures: OverviewFigures) -> list[dict[str, Any]]:
    """One row per queue with a backlog or recent activity."""
    return [
        {
            "id": queue.queue_name,
            "queue_name": queue.queue_name,
            "new": queue.new,
            "in_progress": queue.in_progress,
            "oldest_new": age_text(queue.oldest_new, figures.now),
            "done_24h": queue.done_24h,
            "failed_24h": queue.failed_24h,
        }
        for queue in figures.queues
    ]


def scheduler_rows(figures: OverviewFigures) -> list[dict[str, Any]]:
    """One row per Scheduler: alive or silent, and the processes it runs now."""
    running: dict[str, list[str]] = {}
    for job in figures.running:
        running.setdefault(job.scheduler_name, []).append(job.process_name)
    rows = []
    for health in figures.schedulers:
        scheduler = health.scheduler
        if scheduler.engine_state == "stopped":
            state, color = "Stopped", "grey-7"
        elif health.alive:
            state, color = "Alive", "positive"
        else:
            state, color = "Not responding", "negative"
        rows.append(
            {
                "id": scheduler.machine_name,
                "machine_name": scheduler.machine_name,
                "alive": state,
                "alive_color": color,
                "last_update": age_text(
                    figures.now - timedelta(seconds=health.silent_for), figures.now
                )
                + " ago"
                if health.silent_for is not None
                else "never",
                "running": ", ".join(running.get(scheduler.machine_name, [])) or "nothing",
            }
        )
    return rows


def attention_rows(figures: OverviewFigures) -> list[dict[str, Any]]:
    """Triggers that failed or are overdue (due, idle and not picked up)."""
    rows = []
    for trigger in figures.triggers:
        overdue = is_overdue(trigger, figures.now)
        if trigger.process_status != TriggerStatus.FAILED and not overdue:
            continue
        problem = "Overdue" if overdue else trigger.process_status.value
        rows.append(
            {
                "id": str(trigger.id),
                "trigger_name": trigger.trigger_name,
                "process_name": trigger.process_name,
                "problem": problem,
                "problem_color": status_color("Failed") if problem != "Overdue" else "negative",
                "last_run": fmt(trigger.last_run, "Never"),
            }
        )
    return rows


def alert_rows(figures: OverviewFigures) -> list[dict[str, Any]]:
    """The newest open alerts: which rule fired, about what, when."""
    return [
        {
            "id": alert.alert_id,
            "rule": alert.rule,
            "subject": alert.subject,
            "opened_at": fmt(alert.opened_at),
        }
        for alert in figures.newest_open_alerts
    ]


def byte_text(value: int | None) -> str:
    """1234567 -> "1.2 MB" (None: "—")."""
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def table_size_rows(sizes: TableSizes) -> list[dict[str, Any]]:
    """The tables table's rows: largest first, retention and any suggestion."""
    rows = []
    for table in sizes.tables:
        if table.rows is None:
            rows_text = "not analysed yet"
        else:
            rows_text = f"{table.rows:,}" if table.exact else f"≈ {table.rows:,}"
        if table.kind is None:
            retention = ""
        elif table.keep_days is None:
            retention = "kept whole"
        else:
            retention = f"{table.keep_days} days"
        rows.append(
            {
                "id": table.table,
                "table": table.table,
                "rows": rows_text,
                "size": byte_text(table.bytes),
                "retention": retention,
                "suggestion": table.suggestion or "",
            }
        )
    return rows


def _columns(*names: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "label": label, "field": name, "align": "left"} for name, label in names]


class OverviewTab:
    """The Overview panel. `navigate(tab, **filters)` switches to a filtered tab."""

    def __init__(
        self,
        client_store: ClientStore,
        navigate: Navigate,
        open_queue: Callable[[str, str | None], Awaitable[Any]],
    ) -> None:
        self.client_store = client_store
        self.navigate = navigate
        self.open_queue = open_queue
        self.figures: OverviewFigures | None = None
        self.links: dict[str, ui.button] = {}
        with ui.row().classes("w-full items-stretch gap-4"):
            for period in ("24h", "7d"):
                with tid(ui.card(), f"overview_jobs_{period}_card").classes("min-w-64"):
                    ui.label(
                        "Jobs, last 24 hours" if period == "24h" else "Jobs, last 7 days"
                    ).classes("text-subtitle1 text-bold")
                    with ui.row().classes("gap-1"):
                        for status in JobStatus:
                            self._link(
                                f"overview_jobs_{period}_{status.name.lower()}",
                                status.value,
                                status_color(status.value),
                                self._jobs_link(status, period),
                            )
            with tid(ui.card(), "overview_errors_card").classes("min-w-48"):
                ui.label("Errors logged, last 24 hours").classes("text-subtitle1 text-bold")
                self._link("overview_errors_24h", "Errors", "negative", self._errors_clicked)
            with tid(ui.card(), "overview_alerts_card").classes("min-w-48"):
                ui.label("Alerts").classes("text-subtitle1 text-bold")
                self._link("overview_open_alerts", "Open", "negative", self._alerts_clicked)
            with tid(ui.card(), "overview_review_card").classes("min-w-48"):
                ui.label("Waiting for review").classes("text-subtitle1 text-bold")
                self._link("overview_review_open", "Open", "warning", self._review_clicked)
                self.review_oldest = tid(
                    ui.label("").classes("text-caption"), "overview_review_oldest"
                )
        with ui.row().classes("w-full items-start gap-4 no-wrap"):
            with ui.card().style("flex: 3; min-width: 0"):
                ui.label("Jobs started per day, by outcome").classes("text-subtitle1 text-bold")
                self.chart = tid(
                    ui.echart(
                        {
                            "xAxis": {"type": "category", "data": []},
                            "yAxis": {"type": "value"},
                            "series": [],
                        },
                        on_point_click=guarded(self._bar_clicked),
                    ).classes("w-full h-64"),
                    "overview_chart",
                )
            with ui.element("div").style("flex: 2; min-width: 0"):
                self.failures_table = self._table(
                    "overview_failures_table",
                    "Failures by process, last 7 days",
                    _columns(("process_name", "Process"), ("failures", "Failed jobs")),
                    "No failed jobs in the last 7 days.",
                    lambda row: self.navigate(
                        "Jobs",
                        status=JobStatus.FAILED.value,
                        process_name=row["process_name"],
                        from_date=self._since("7d"),
                    ),
                )
                self.failures_table.props("hide-pagination")
        self.queues_table = self._table(
            "overview_queues_table",
            "Queues",
            _columns(
                ("queue_name", "Queue"),
                ("new", "Backlog (New)"),
                ("in_progress", "In Progress"),
                ("oldest_new", "Oldest New waits"),
                ("done_24h", "Done, 24 h"),
                ("failed_24h", "Failed, 24 h"),
            ),
            "No queue has a backlog or finished elements in the last 24 hours.",
            lambda row: self.open_queue(row["queue_name"], "New"),
        )
        with ui.row().classes("w-full items-start gap-4 no-wrap"):
            self.schedulers_table = self._table(
                "overview_schedulers_table",
                "Schedulers",
                _columns(
                    ("machine_name", "Machine"),
                    ("alive", "State"),
                    ("last_update", "Last heard"),
                    ("running", "Running now"),
                ),
                "No Scheduler has connected to this database yet.",
                lambda row: self.navigate("Schedulers"),
            )
            self.schedulers_table.add_slot(
                "body-cell-alive",
                """
                <q-td :props="props"><q-badge :color="props.row.alive_color"
                      :label="props.value" /></q-td>
            """,
            )
            self.attention_table = self._table(
                "overview_attention_table",
                "Triggers failed or overdue",
                _columns(
                    ("trigger_name", "Trigger"),
                    ("problem", "Problem"),
                    ("process_name", "Process"),
                    ("last_run", "Last Run"),
                ),
                "No trigger has failed or is overdue.",
                lambda row: self.navigate("Triggers", search=row["trigger_name"]),
            )
            self.attention_table.add_slot(
                "body-cell-problem",
                """
                <q-td :props="props"><q-badge :color="props.row.problem_color"
                      :label="props.value" /></q-td>
            """,
            )
        self.alerts_table = self._table(
            "overview_alerts_table",
            "Newest open alerts",
            _columns(("rule", "Rule"), ("subject", "Subject"), ("opened_at", "Opened")),
            "No open alert.",
            lambda row: self._alerts_clicked(),
        )
        self.alerts_table.props("hide-pagination")
        self.tables_table = self._table(
            "overview_tables_table",
            "Tables: rows and size",
            _columns(
                ("table", "Table"),
                ("rows", "Rows"),
                ("size", "Size"),
                ("retention", "Retention"),
                ("suggestion", "Suggestion"),
            ),
            "Table sizes are not known yet.",
            lambda row: self.navigate("Settings"),
        )
        self.tables_label = tid(
            ui.label("").classes("text-caption text-grey-7"), "overview_tables_label"
        )
        self.updated_label = tid(
            ui.label("").classes("text-caption text-grey-7"), "overview_updated_label"
        )

    def _link(self, test_id: str, label: str, color: str, on_click: Callable[[], Any]) -> None:
        button = tid(
            ui.button(f"0 {label}", on_click=guarded(on_click)).props(
                f"flat dense no-caps color={color}"
            ),
            test_id,
        )
        button.tooltip(f"Open what this counts: {label}")
        self.links[test_id] = button

    @staticmethod
    def _table(
        test_id: str,
        title: str,
        columns: list[dict[str, Any]],
        empty: str,
        on_click: Callable[[dict[str, Any]], Any],
    ) -> ui.table:
        table = tid(
            ui.table(
                columns=columns, rows=[], row_key="id", title=title, pagination={"rowsPerPage": 10}
            ),
            test_id,
        )
        table.classes("w-full").props("flat bordered")
        quiet_no_data(table, empty)
        click = guarded(on_click)
        table.on("row-click", lambda e: click(e.args[1]))
        return table

    def _since(self, period: str) -> datetime:
        """The start of a window ("24h" or "7d") the figures were read for."""
        now = self.figures.now if self.figures else datetime.now()
        return now - (timedelta(hours=24) if period == "24h" else timedelta(days=7))

    def _jobs_link(self, status: JobStatus, period: str) -> Callable[[], Awaitable[None]]:
        async def open_jobs() -> None:
            await self.navigate("Jobs", status=status.value, from_date=self._since(period))

        return open_jobs

    async def _errors_clicked(self) -> None:
        await self.navigate("Logs", level="Error", from_date=self._since("24h"))

    async def _alerts_clicked(self) -> None:
        await self.navigate("Alerts", open_only=True)

    async def _review_clicked(self) -> None:
        await self.navigate("Review")

    async def _bar_clicked(self, event: events.EChartPointClickEventArguments) -> None:
        await self.navigate("Jobs", status=str(event.series_name), from_date=self._since("7d"))

    async def refresh(self) -> None:
        """Read every figure again and show it."""
        figures = await off_loop(self.client_store.store.get_overview)
        self.show(figures)
        count, oldest = await off_loop(self.client_store.store.review_backlog)
        self.show_review(count, oldest, figures.now)
        # After the figures are on screen: cached, so usually free (store/ops/table_sizes.py).
        self.show_sizes(await off_loop(self.client_store.store.get_table_sizes))

    def show_review(self, count: int, oldest: datetime | None, now: datetime) -> None:
        """The review backlog and how long its oldest item waits."""
        self.links["overview_review_open"].text = f"{count} Open"
        self.review_oldest.text = (
            f"Oldest waits {age_text(oldest, now)}" if oldest is not None else "Nothing waits."
        )

    def show_sizes(self, sizes: TableSizes) -> None:
        """Put the tables' rows and sizes on the page."""
        self.tables_table.rows = table_size_rows(sizes)
        self.tables_table.update()
        total = f"; the whole database: {byte_text(sizes.total_bytes)}" if sizes.total_bytes else ""
        self.tables_label.text = (
            f"Table sizes as of {fmt(sizes.read_at)} ({sizes.method}; ≈ is an estimate){total}."
        )

    def show(self, figures: OverviewFigures) -> None:
        """Put a set of figures on the page."""
        self.figures = figures
        for period, counts in (("24h", figures.jobs_24h), ("7d", figures.jobs_7d)):
            for status in JobStatus:
                self.links[
                    f"overview_jobs_{period}_{status.name.lower()}"
                ].text = f"{counts.get(status, 0)} {status.value}"
        self.links["overview_errors_24h"].text = f"{figures.errors_24h} Errors"
        self.links["overview_open_alerts"].text = f"{figures.open_alerts} Open"
        self.chart.options.clear()
        self.chart.options.update(chart_options(figures))
        self.chart.update()
        self.failures_table.rows = [
            {"id": name, "process_name": name, "failures": count}
            for name, count in figures.failures_by_process
        ]
        self.queues_table.rows = queue_rows(figures)
        self.schedulers_table.rows = scheduler_rows(figures)
        self.attention_table.rows = attention_rows(figures)
        self.alerts_table.rows = alert_rows(figures)
        for table in (
            self.failures_table,
            self.queues_table,
            self.schedulers_table,
            self.attention_table,
            self.alerts_table,
        ):
            table.update()
        self.updated_label.text = f"Figures as of {fmt(figures.now)}."
