"""The metric families `/metrics` renders, and the Grafana dashboard in docs/ that uses
them: every `openorch_*` name the dashboard queries exists."""

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from openorch.api.routes.metrics import render
from openorch.store.ops.metrics import DURATION_BUCKETS, DurationFigures, MetricFigures
from openorch.store.ops.retention_policy import PruneTotals
from openorch.store.runs.counters import CounterFigures

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def _figures() -> MetricFigures:
    return MetricFigures(
        queue_elements={("q", "NEW"): 2, ("q", "DONE"): 5},
        oldest_new_age={"q": 42.5},
        jobs={("p", "DONE"): 3, ("p", "FAILED"): 1},
        running={"p": 4},
        durations={"p": DurationFigures(2, 70.0, [0, 0, 1, 1, 2, 2, 2, 2])},
        schedulers={"vm1": (True, 1.5), "vm2": (False, None)},
        open_alerts={"job_failed": 1},
        job_counters={
            ("p", "DONE"): CounterFigures(3, 30.0, [0, 1, 3, 3, 3, 3, 3, 3]),
            ("p", "FAILED"): CounterFigures(1, 2.0, [0, 1, 1, 1, 1, 1, 1, 1]),
        },
        prune=PruneTotals(runs=2, rows={"logs": 10}),
        prune_age=60.0,
        review_open={"q": 3},
        review_oldest_age={"q": 120.0},
        search_waiting=7,
        claims={"q": 9},
    )


def test_rendered_families_parse_and_carry_the_figures() -> None:
    text = render(_figures()).decode()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("openorch_queue_elements", (("queue", "q"), ("status", "NEW")))] == 2
    # Every status is reported, 0 included.
    assert samples[("openorch_queue_elements", (("queue", "q"), ("status", "ABANDONED")))] == 0
    assert samples[("openorch_jobs_ended_24h", (("process", "p"), ("status", "FAILED")))] == 1
    assert samples[("openorch_jobs_running", (("process", "p"),))] == 4
    assert samples[("openorch_job_duration_24h_seconds_count", (("process", "p"),))] == 2
    assert len(DURATION_BUCKETS) == 8
    assert (
        samples[("openorch_job_duration_24h_seconds_bucket", (("le", "15.0"), ("process", "p")))]
        == 1
    )
    assert samples[("openorch_scheduler_up", (("scheduler", "vm2"),))] == 0
    # A Scheduler that never sent a heartbeat has no age.
    ages = [key for key in samples if key[0] == "openorch_scheduler_heartbeat_age_seconds"]
    assert ages == [("openorch_scheduler_heartbeat_age_seconds", (("scheduler", "vm1"),))]
    # Counters: per process and status; the histogram adds the statuses of a process.
    assert samples[("openorch_jobs_ended_total", (("process", "p"), ("status", "DONE")))] == 3
    assert samples[("openorch_job_duration_seconds_count", (("process", "p"),))] == 4
    assert samples[("openorch_job_duration_seconds_sum", (("process", "p"),))] == 32.0
    five = (("le", "5.0"), ("process", "p"))
    assert samples[("openorch_job_duration_seconds_bucket", five)] == 2
    assert samples[("openorch_prune_runs_total", ())] == 2
    assert samples[("openorch_pruned_rows_total", (("kind", "logs"),))] == 10
    assert samples[("openorch_pruned_rows_total", (("kind", "jobs"),))] == 0
    assert samples[("openorch_prune_last_run_age_seconds", ())] == 60
    assert samples[("openorch_review_open", (("queue", "q"),))] == 3
    assert samples[("openorch_review_oldest_open_age_seconds", (("queue", "q"),))] == 120
    assert samples[("openorch_search_index_waiting", ())] == 7
    assert samples[("openorch_queue_claims_total", (("queue", "q"),))] == 9


def test_the_dashboard_queries_only_metrics_that_exist() -> None:
    text = render(_figures()).decode()
    names = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"openorch_\w+", expr)}
    assert len(used) >= 6 and used <= names, used - names
