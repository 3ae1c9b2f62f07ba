"""Reusable widgets: a date + time input and a table paged and sorted by the server.

`ServerTable` never holds more than one page: Quasar's QTable in server mode (a
`rowsNumber` in its pagination) asks for a page with its `request` event, and the
table's owner answers with one data-layer call. That is what keeps a queue of a million
elements as quick to show as one of ten.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nicegui import events, ui

from openorch.orchestrator.common import guarded, off_loop, tid

#: Rows-per-page choices of every paged table (no "All": see ServerTable).
ROWS_PER_PAGE_OPTIONS = (25, 50, 100, 200)

#: Status colours shared by triggers, jobs and queue elements (Quasar colour names).
STATUS_COLORS = {
    "Running": "positive",
    "Done": "positive",
    "Pausing": "warning",
    "Paused": "warning",
    "Killing": "warning",
    "In Progress": "warning",
    "Failed": "negative",
    "Killed": "negative",
    "Abandoned": "negative",
    "Error": "negative",
    "Idle": "grey-7",
    "New": "info",
    "Info": "info",
    "Trace": "grey-7",
}


def status_badge_slot(table: ui.table, column: str) -> None:
    """Render `column` as a coloured badge (colour from the row's `<column>_color`)."""
    table.add_slot(
        f"body-cell-{column}",
        f"""
        <q-td :props="props">
            <q-badge :color="props.row.{column}_color" :label="props.value" />
        </q-td>
        """,
    )


def quiet_no_data(table: ui.table, text: str = "Nothing to show.") -> None:
    """Say an empty table is empty in grey text, instead of Quasar's default black
    warning triangle (an empty table is normal, not an alarm)."""
    table.props(f'no-data-label="{text}"')
    table.add_slot(
        "no-data",
        """
        <div class="full-width text-grey-7 text-center q-pa-sm">{{ props.message }}</div>
    """,
    )


def paged(table: ui.table) -> None:
    """Offer the rows-per-page choices, as data (see ServerTable for why not ":")."""
    table.props["rows-per-page-options"] = list(ROWS_PER_PAGE_OPTIONS)


def status_color(label: str) -> str:
    """The badge colour for a status label ('grey-7' for anything unknown)."""
    return STATUS_COLORS.get(label, "grey-7")


class DatetimeInput:
    """A date input (dd-mm-YYYY, with a calendar) beside a time input (HH:MM, with a
    clock); `value` is a naive datetime or None when both are empty."""

    DATE_FORMAT = "%d-%m-%Y"

    def __init__(
        self,
        label: str,
        test_id: str,
        *,
        allow_empty: bool = True,
        on_change: Callable[[], Any] | None = None,
    ) -> None:
        self.label = label
        self.allow_empty = allow_empty
        handler = (lambda _e: on_change()) if on_change else None
        with ui.row().classes("items-start gap-2 no-wrap") as self.row:
            self.date = tid(
                ui.date_input(label, on_change=handler).classes("w-48"),
                f"{test_id}_date",
            )
            self.date.picker.props("mask=DD-MM-YYYY")
            self.date.props("placeholder=dd-mm-yyyy clearable")
            self.time = tid(
                ui.time_input("Time", on_change=handler).classes("w-32"),
                f"{test_id}_time",
            )
            self.time.picker.props("format24h")
            self.time.props("placeholder=HH:MM clearable")

    @property
    def visible(self) -> bool:
        """Whether the input row shows."""
        return bool(self.row.visible)

    @visible.setter
    def visible(self, value: bool) -> None:
        self.row.visible = value

    def set_datetime(self, value: datetime | None) -> None:
        """Show a datetime (or clear both inputs)."""
        self.date.value = value.strftime(self.DATE_FORMAT) if value else ""
        self.time.value = value.strftime("%H:%M") if value else ""

    def get_datetime(self) -> datetime | None:
        """The entered datetime; None when both inputs are empty.

        Raises:
            ValueError: text that is not a date or a time; a missing part when required.
        """
        date_text = (self.date.value or "").strip()
        time_text = (self.time.value or "").strip()
        if not date_text and not time_text:
            if self.allow_empty:
                return None
            raise ValueError(f"{self.label} is required: enter a date and a time.")
        if not date_text:
            raise ValueError(f"{self.label}: enter a date (dd-mm-yyyy) as well as the time.")
        try:
            day = datetime.strptime(date_text, self.DATE_FORMAT)
        except ValueError:
            raise ValueError(
                f"{self.label}: {date_text!r} is not a date in the form dd-mm-yyyy."
            ) from None
        if not time_text:
            return day
        for pattern in ("%H:%M", "%H:%M:%S"):
            try:
                moment = datetime.strptime(time_text, pattern)
            except ValueError:
                continue
            return day.replace(hour=moment.hour, minute=moment.minute, second=moment.second)
        raise ValueError(f"{self.label}: {time_text!r} is not a time in the form HH:MM.")


#: Largest page a table fetches, whatever a browser asks for (it names the page size
#: in its request event, and a hand-made event could ask for a million rows).
MAX_ROWS_PER_PAGE = 200


def _whole(value: Any, default: int) -> int:
    """A pagination number from the browser as a positive int (`default` when it is none,
    not a number, or below 1: Quasar's 0 means "all rows", which is never served)."""
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return number if number >= 1 else default


@dataclass
class Page:
    """What a `ServerTable` asks its owner for: one page, one sort."""

    offset: int
    limit: int
    sort_by: str | None
    descending: bool


#: A fetcher returns one page of rows and the number of rows matching the filters.
Fetcher = Callable[[Page], tuple[list[dict[str, Any]], int]]


class ServerTable:
    """A `ui.table` showing one page at a time, fetched and sorted by the database.

    `fetch` is a blocking function (it calls the data layer) and runs in a worker
    thread; the table shows Quasar's loading bar meanwhile.
    """

    def __init__(
        self,
        columns: list[dict[str, Any]],
        fetch: Fetcher,
        test_id: str,
        *,
        title: str | None = None,
        rows_per_page: int = 50,
        sort_by: str | None = None,
        descending: bool = True,
        on_row_click: Callable[[dict[str, Any]], Awaitable[Any] | Any] | None = None,
    ) -> None:
        self.fetch = fetch
        self.total = 0
        self._generation = 0  # counts refreshes; only the newest one's rows are shown
        self.table = tid(
            ui.table(
                columns=columns,
                rows=[],
                row_key="id",
                title=title,
                pagination={
                    "rowsPerPage": rows_per_page,
                    "page": 1,
                    "rowsNumber": 0,
                    "sortBy": sort_by,
                    "descending": descending,
                },
            ).classes("w-full"),
            test_id,
        )
        # No "All" choice: a million rows must never be asked for at once. Set as data, not
        # as a ":"-prop: NiceGUI evaluates a ":"-prop's value as JavaScript, and the list
        # [25,50,100,200] arrives as the text "25,50,100,200", i.e. the number 200.
        paged(self.table)
        quiet_no_data(self.table)
        self.table.on("request", guarded(self._on_request), ["pagination"])
        # When a server-paged QTable first appears it reports its pagination back with a
        # total of 0, which would overwrite the total this table just set ("1-0 of 0", no
        # page arrows): keep the server's count whatever the browser reports.
        self.table.on_pagination_change(self._keep_total)
        if on_row_click is not None:
            click = guarded(on_row_click)
            self.table.on("row-click", lambda e: click(e.args[1]))

    def _keep_total(self, event: events.ValueChangeEventArguments) -> None:
        reported = event.value if isinstance(event.value, dict) else {}
        if reported.get("rowsNumber") != self.total:
            self.table.pagination = {**reported, "rowsNumber": self.total}
            self.table.update()

    @property
    def pagination(self) -> dict[str, Any]:
        """Quasar's pagination object (page, rowsPerPage, sortBy, descending, rowsNumber)."""
        return dict(self.table.pagination)

    async def _on_request(self, event: events.GenericEventArguments) -> None:
        wanted = event.args.get("pagination", {}) if isinstance(event.args, dict) else {}
        pagination = dict(self.table.pagination)
        for key in ("page", "rowsPerPage", "sortBy", "descending"):
            if key in wanted:
                pagination[key] = wanted[key]
        pagination["rowsPerPage"] = min(
            _whole(pagination.get("rowsPerPage"), 50), MAX_ROWS_PER_PAGE
        )
        pagination["page"] = _whole(pagination.get("page"), 1)
        self.table.pagination = pagination
        await self.refresh()

    def first_page(self) -> None:
        """Go back to page 1 (after a filter changed); call `refresh` next."""
        self.table.pagination = {**self.table.pagination, "page": 1}

    def current_page(self) -> Page:
        """The page the table shows now, as data-layer paging values (the page size the
        browser asked for capped at MAX_ROWS_PER_PAGE, the page number at 1 or more)."""
        pagination = self.table.pagination
        per_page = min(_whole(pagination.get("rowsPerPage"), 50), MAX_ROWS_PER_PAGE)
        page = _whole(pagination.get("page"), 1)
        return Page(
            offset=(page - 1) * per_page,
            limit=per_page,
            sort_by=pagination.get("sortBy") or None,
            descending=bool(pagination.get("descending")),
        )

    async def refresh(self) -> None:
        """Fetch the current page again (keeping page and sort).

        Only the newest refresh shows its rows: fetches run in worker threads and can
        finish out of order (a search typed while the previous one is still counting),
        and an older answer must not overwrite a newer one.
        """
        self._generation += 1
        mine = self._generation
        self.table.props("loading")
        try:
            page = self.current_page()
            rows, total = await off_loop(self.fetch, page)
            if mine != self._generation:
                return
            pages = max((total + page.limit - 1) // page.limit, 1)
            if page.offset >= total and int(self.table.pagination.get("page", 1)) > pages:
                # The last page emptied (rows deleted meanwhile): show the new last page.
                self.table.pagination = {**self.table.pagination, "page": pages}
                rows, total = await off_loop(self.fetch, self.current_page())
                if mine != self._generation:
                    return
            self.show(rows, total)
        finally:
            if mine == self._generation:
                self.table.props(remove="loading")

    def show(self, rows: list[dict[str, Any]], total: int) -> None:
        """Put a fetched page into the table."""
        self.total = total
        self.table.rows = rows
        self.table.pagination = {**self.table.pagination, "rowsNumber": total}
        self.table.update()


class KeptSecretInput:
    """An input for a value holding a secret (a webhook URL, a git URL with a token):
    the stored value never reaches the page. The input starts empty, its placeholder
    names the stored value masked ("leave empty to keep https://robot:***@host/…"), and
    left empty it means "keep the stored value"; whatever is typed replaces it.

    The one way every such value is edited, so a new secret field cannot show its
    value by accident.
    """

    def __init__(self, label: str, marker: str, *, password: bool = True) -> None:
        self.input = tid(ui.input(label, password=password).classes("w-full"), marker)
        self.keeping = False

    def keep(self, shown: str) -> None:
        """A stored value exists: say (masked, as `shown`) what an empty input keeps."""
        self.keeping = True
        self.input.value = ""
        self.input.props["placeholder"] = f"leave empty to keep {shown}"

    def typed(self) -> str | None:
        """What was typed (stripped), or None: keep the stored value (if any)."""
        return (self.input.value or "").strip() or None
