"""Settings → Retention: the stored retention policy (days to keep per kind of data) and
the record of prune runs.

The Scheduler holding the watchdog lease prunes by this policy (one pruner for the
fleet), and so does `openorch prune` without `--keep`; an empty field keeps that kind
whole, the default. Bad input (not a whole number, below 1, too large) is refused with
a message naming the kind, and nothing is saved. What the fields show is the stored
policy: a refresh updates them only while nobody has typed in them.
"""

from typing import Any

from nicegui import ui

from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, notify_result, off_loop, tid
from openorch.orchestrator.who import current_identity
from openorch.store.errors import BadInput
from openorch.store.ops.retention import KINDS
from openorch.store.ops.retention_policy import KIND_LABELS, PruneRunView

#: How many recorded runs the table shows.
RUNS_SHOWN = 20


def run_rows(runs: list[PruneRunView]) -> list[dict[str, Any]]:
    """The prune-run table's rows: one per run, the kinds in one cell."""
    rows = []
    for run in runs:
        kinds = ", ".join(
            f"{view.kind} {view.rows:,}" + ("" if view.finished else " (not finished)")
            for view in run.kinds
        )
        if run.finished_at is None:
            outcome = "running (or its pruner stopped)"
        else:
            outcome = run.note or "finished"
        rows.append(
            {
                "id": str(run.run_id),
                "started_at": fmt(run.started_at),
                "run_by": run.run_by,
                "dry_run": "dry run" if run.dry_run else "",
                "rows": f"{run.rows:,}",
                "kinds": kinds or "nothing to prune",
                "seconds": "" if run.seconds is None else f"{run.seconds:.1f} s",
                "outcome": outcome,
            }
        )
    return rows


class RetentionPanel:
    """The policy's inputs, a Save button, and the newest prune runs."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        #: The stored policy the inputs were last filled from.
        self.shown: dict[str, int] = {}
        self.inputs: dict[str, ui.input] = {}
        with tid(ui.card(), "retention_card").classes("w-full max-w-3xl"):
            ui.label("Retention").classes("text-subtitle1 text-bold")
            ui.label(
                "Days to keep each kind of data; empty keeps it all (the default). The "
                "Scheduler holding the watchdog lease prunes by this every hour, in small "
                "batches; rows still needed (running jobs, unfinished elements and "
                "pipelines, elements in review, open alerts) are kept."
            ).classes("text-caption")
            with ui.grid(columns=2).classes("w-full items-center gap-x-4 gap-y-0"):
                for kind in KINDS:
                    ui.label(KIND_LABELS[kind])
                    self.inputs[kind] = tid(
                        ui.input(placeholder="keep everything")
                        .props("dense suffix=days")
                        .classes("w-40"),
                        f"retention_days_{kind}",
                    )
            with ui.row().classes("items-center"):
                self.save_button = tid(
                    ui.button("Save retention", on_click=guarded(self.save)),
                    "retention_save_button",
                )
                self.policy_label = tid(ui.label(""), "retention_policy_label")
            self.runs_table = tid(
                ui.table(
                    columns=[
                        {"name": name, "label": label, "field": name, "align": "left"}
                        for name, label in (
                            ("started_at", "Started"),
                            ("run_by", "By"),
                            ("dry_run", "Dry run"),
                            ("kinds", "Rows per kind"),
                            ("rows", "Rows"),
                            ("seconds", "Took"),
                            ("outcome", "Outcome"),
                        )
                    ],
                    rows=[],
                    row_key="id",
                    title="Prune runs",
                    pagination={"rowsPerPage": 10},
                ),
                "retention_runs_table",
            )
            self.runs_table.classes("w-full").props("flat bordered dense")
        self._show_enabled()

    def _show_enabled(self) -> None:
        connected = self.client_store.connected
        self.save_button.set_enabled(connected)
        for field in self.inputs.values():
            field.set_enabled(connected)

    def _typed(self) -> dict[str, str]:
        return {kind: str(field.value or "").strip() for kind, field in self.inputs.items()}

    def _fill(self, policy: dict[str, int]) -> None:
        self.shown = dict(policy)
        for kind, field in self.inputs.items():
            field.value = str(policy[kind]) if kind in policy else ""
        self.policy_label.text = (
            "Stored: " + ", ".join(f"{kind} {days} days" for kind, days in policy.items())
            if policy
            else "Stored: keep everything."
        )

    async def refresh(self) -> None:
        """Read the policy and the runs again; the inputs follow the stored policy
        unless someone typed in them since they were filled."""
        self._show_enabled()
        if not self.client_store.connected:
            return
        store = self.client_store.store
        policy = await off_loop(store.get_retention_policy)
        untouched = self._typed() == {
            kind: str(self.shown[kind]) if kind in self.shown else "" for kind in KINDS
        }
        if untouched or not self.policy_label.text:
            self._fill(policy)
        runs = await off_loop(store.get_prune_runs, RUNS_SHOWN)
        self.runs_table.rows = run_rows(runs)
        self.runs_table.update()

    async def save(self) -> None:
        """Store the typed policy (all kinds at once; bad input saves nothing)."""
        typed = self._typed()
        try:
            policy = await off_loop(
                self.client_store.store.set_retention_policy, typed, current_identity().label
            )
        except BadInput as error:
            notify_result(f"{error} Nothing was saved.", "negative")
            return
        self._fill(policy)
        notify_result("Retention saved.", "positive")
