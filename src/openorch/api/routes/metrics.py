"""`GET /metrics`: the fleet's figures in Prometheus's text format, for a token with the
METRICS scope (`Authorization: Bearer <token>`; Prometheus's `authorization` setting).

The figures are read from the database at each scrape (`Store.get_metric_figures`, one
read transaction) and handed to `prometheus_client` as a custom collector, so every
API process reports the same numbers whichever one Prometheus reaches. The 24-hour job
figures (`store/ops/metrics.py`, `JOB_WINDOW`) are gauges; the job and prune counters are
read from small tables the watchdog keeps (`store/runs/counters.py`, `Prune_Runs`), never
by counting every job at a scrape.
"""

from collections.abc import Iterator, Mapping, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from openorch.api.auth import get_store, require
from openorch.database import ApiScope, QueueStatus
from openorch.store.ops.metrics import DURATION_BUCKETS, MetricFigures
from openorch.store.ops.retention import KINDS
from openorch.store.queues.search import PENDING_LIMIT
from openorch.store.runs.counters import CounterFigures

router = APIRouter()


class FiguresCollector(Collector):
    """Prometheus families made from one `MetricFigures` reading."""

    def __init__(self, figures: MetricFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self.figures
        elements = GaugeMetricFamily(
            "openorch_queue_elements",
            "Queue elements by queue and status.",
            labels=["queue", "status"],
        )
        queues = sorted({queue for queue, _ in figures.queue_elements})
        for queue in queues:
            for status in QueueStatus:  # every status, 0 included: graphs need no gaps
                count = figures.queue_elements.get((queue, status.name), 0)
                elements.add_metric([queue, status.name], count)
        yield elements
        if figures.claims is not None:
            yield _family(
                CounterMetricFamily,
                "openorch_queue_claims",
                "Queue elements claimed (set IN_PROGRESS from another status), by queue, "
                "since the database began counting them; whoever claimed.",
                ["queue"],
                figures.claims,
            )
        yield _family(
            GaugeMetricFamily,
            "openorch_queue_oldest_new_age_seconds",
            "Seconds since the oldest NEW element of each queue was created.",
            ["queue"],
            figures.oldest_new_age,
        )
        yield _family(
            GaugeMetricFamily,
            "openorch_jobs_ended_24h",
            "Jobs that ended in the last 24 hours, by process and status.",
            ["process", "status"],
            figures.jobs,
        )
        yield _family(
            GaugeMetricFamily,
            "openorch_jobs_running",
            "Jobs RUNNING now, by process.",
            ["process"],
            figures.running,
        )
        # A window, not a counter: use histogram_quantile on the buckets without rate().
        durations = HistogramMetricFamily(
            "openorch_job_duration_24h_seconds",
            "Run time of the jobs that ended in the last 24 hours, by process.",
            labels=["process"],
        )
        for process, duration in sorted(figures.durations.items()):
            buckets = [
                (_bound(bound), float(count))
                for bound, count in zip(DURATION_BUCKETS, duration.at_most, strict=True)
            ]
            buckets.append(("+Inf", float(duration.count)))
            durations.add_metric([process], buckets, duration.total_seconds)
        yield durations
        up = GaugeMetricFamily(
            "openorch_scheduler_up",
            "1 when the Scheduler's heartbeat is recent (the Schedulers tab's rule), else 0.",
            labels=["scheduler"],
        )
        silent = GaugeMetricFamily(
            "openorch_scheduler_heartbeat_age_seconds",
            "Seconds since each Scheduler's last heartbeat, by the database's clock.",
            labels=["scheduler"],
        )
        for name, (alive, silent_for) in sorted(figures.schedulers.items()):
            up.add_metric([name], 1 if alive else 0)
            if silent_for is not None:
                silent.add_metric([name], silent_for)
        yield up
        yield silent
        yield _family(
            GaugeMetricFamily,
            "openorch_open_alerts",
            "Alerts open now, by rule.",
            ["rule"],
            figures.open_alerts,
        )
        yield _family(
            GaugeMetricFamily,
            "openorch_review_open",
            "Items open in the review inbox (failures a person must look at), by queue.",
            ["queue"],
            figures.review_open,
        )
        yield _family(
            GaugeMetricFamily,
            "openorch_review_oldest_open_age_seconds",
            "Seconds since the oldest open review item of each queue was made.",
            ["queue"],
            figures.review_oldest_age,
        )
        if figures.search_waiting is not None:
            waiting = GaugeMetricFamily(
                "openorch_search_index_waiting",
                "Queue elements written since the search index saw them (read up to "
                f"{PENDING_LIMIT + 1}; above {PENDING_LIMIT} searches read queues without "
                "the index). The Scheduler holding the watchdog lease indexes them.",
            )
            waiting.add_metric([], figures.search_waiting)
            yield waiting
        yield from _counter_families(figures)


def _counter_families(figures: MetricFigures) -> Iterator[Metric]:
    """The all-time counters: jobs by process and outcome, job durations, prune runs."""
    ended = CounterMetricFamily(
        "openorch_jobs_ended",
        "Jobs that ended, by process and status, since the counters started.",
        labels=["process", "status"],
    )
    per_process: dict[str, CounterFigures] = {}
    for (process, job_status), counter in sorted(figures.job_counters.items()):
        ended.add_metric([process, job_status], counter.jobs)
        total = per_process.setdefault(process, CounterFigures())
        total.jobs += counter.jobs
        total.seconds_total += counter.seconds_total
        total.at_most = [a + b for a, b in zip(total.at_most, counter.at_most, strict=True)]
    yield ended
    durations = HistogramMetricFamily(
        "openorch_job_duration_seconds",
        "Run time of the jobs that ended, by process, since the counters started.",
        labels=["process"],
    )
    for process, counter in sorted(per_process.items()):
        buckets = [
            (_bound(bound), float(count))
            for bound, count in zip(DURATION_BUCKETS, counter.at_most, strict=True)
        ]
        buckets.append(("+Inf", float(counter.jobs)))
        durations.add_metric([process], buckets, counter.seconds_total)
    yield durations
    if figures.prune is None:
        return
    runs = CounterMetricFamily(
        "openorch_prune_runs", "Prune runs finished (not dry runs), all pruners."
    )
    runs.add_metric([], figures.prune.runs)
    yield runs
    rows = CounterMetricFamily(
        "openorch_pruned_rows", "Rows deleted by retention, by kind of data.", labels=["kind"]
    )
    for kind in KINDS:
        rows.add_metric([kind], figures.prune.rows.get(kind, 0))
    yield rows
    if figures.prune_age is not None:
        age = GaugeMetricFamily(
            "openorch_prune_last_run_age_seconds",
            "Seconds since the newest prune run finished, by the database's clock.",
        )
        age.add_metric([], figures.prune_age)
        yield age


def _family(
    kind: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    documentation: str,
    labels: list[str],
    values: Mapping[str, float] | Mapping[tuple[str, str], float],
) -> Metric:
    """A family with one sample per key of `values` (a label value, or a tuple of them
    for several labels), in key order so each scrape lists them alike."""
    family = kind(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric([key] if isinstance(key, str) else list(key), value)
    return family


def _bound(value: float) -> str:
    """A bucket bound as Prometheus writes it ("5.0")."""
    return repr(float(value))


def render(figures: MetricFigures) -> bytes:
    """The text exposition of `figures` (a fresh registry: nothing process-global)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(figures))
    return generate_latest(registry)


_bearer = HTTPBearer(auto_error=False, description="A token with the METRICS scope.")
_metrics_token = require(ApiScope.METRICS)


def parse_allowed(items: Sequence[str]) -> tuple[IPv4Network | IPv6Network, ...]:
    """`--metrics-allow` values (addresses or CIDR ranges) as networks.

    Raises:
        ValueError: a value is not an address or range (the message names it).
    """
    networks = []
    for item in items:
        try:
            networks.append(ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"--metrics-allow wants an address or range such as 10.0.0.5 or "
                f"10.0.0.0/24, not {item!r}."
            ) from None
    return tuple(networks)


def scrape_allowed(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """A scraper at an allow-listed address needs no token; others need METRICS.

    The address is the TCP peer's, or the one a trusted proxy forwarded
    (`--forwarded-allow-ips`), as uvicorn reports it.
    """
    allowed = getattr(request.app.state, "metrics_allow", ())
    client = request.client.host if request.client else None
    if allowed and client:
        try:
            address = ip_address(client)
        except ValueError:
            address = None
        if address is not None and any(address in network for network in allowed):
            return
    _metrics_token(request, credentials)


@router.get("/metrics", tags=["system"], response_class=Response)
def metrics(request: Request, _allowed: Annotated[None, Depends(scrape_allowed)]) -> Response:
    """The fleet's figures in Prometheus's text format (token scope METRICS, or an
    address allowed by `--metrics-allow`)."""
    figures = get_store(request).get_metric_figures(request.app.state.heartbeat_timeout)
    return Response(render(figures), media_type=CONTENT_TYPE_LATEST)
