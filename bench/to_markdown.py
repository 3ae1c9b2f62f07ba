"""Turn `bench/run.py`'s JSON into the tables of docs/benchmarks.md:
`python bench/run.py > result.json; python bench/to_markdown.py result.json`."""

import json
import sys
from typing import Any

LABELS = {
    "bulk_create_100k": "`bulk_create_queue_elements`, 100,000 elements",
    "logs_newest": "newest 100 of 1,000,000 logs, no filter",
    "logs_by_process": "newest 100 logs of one process",
    "logs_by_level": "newest 100 logs of one level",
    "distinct_process_names": "distinct process names in 1,000,000 logs",
    "queue_count": "`get_queue_count` over 1,100,000 elements",
    "queue_page_with_count": "one page of a 100,000-element queue with its total",
    "claim_next_in_1m": "`get_next_queue_element` in a 1,100,000-element table",
    "sdk_import": "`from openorch import OrchestratorConnection`, fresh interpreter "
    "(floor: bare interpreter)",
    "sdk_connect_and_log_info": "fresh interpreter: import, connect, one `log_info`",
    "scheduler_poll_1000_triggers": "one Scheduler poll over 1,000 triggers",
}


def row(item: dict[str, Any]) -> str:
    target = item.get("target")
    verdict = "yes" if item.get("meets_target") else ("**no**" if target is not None else "")
    unit = item.get("unit", "ms")
    extra = f" ({item['queries']} queries)" if "queries" in item else ""
    return (
        f"| {LABELS.get(item['figure'], item['figure'])}{extra} | {item['ours']} {unit} | "
        f"{item.get('floor', '')} {unit if 'floor' in item else ''} | {item.get('ratio', '')} | "
        f"{'≤ ' + str(target) + ' ' + unit if target is not None else ''} | {verdict} |"
    )


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        report = json.load(handle)
    for backend in ("sqlite", "postgresql"):
        if backend not in report:
            continue
        data = report[backend]
        print(f"\n### {backend}\n")
        print("| figure | openorch | floor | ratio | target | met |")
        print("|---|---|---|---|---|---|")
        drain = data["drain"][0]
        target = drain.get("target_elements_per_s")
        drain_met = (
            drain["duplicates"] == 0
            and drain["errors"] == 0
            and (not target or drain["ours_elements_per_s"] >= target)
        )
        print(
            f"| {drain['processes']} processes draining {drain['elements']:,} elements "
            f"(claim + DONE) | {drain['ours_elements_per_s']} elements/s, "
            f"{drain['duplicates']} duplicates, {drain['errors']} errors | "
            f"{drain['floor_elements_per_s']} elements/s | {drain['ratio']} | "
            f"0 duplicates, 0 errors{f', ≥ {target}/s' if target else ''} | "
            f"{'yes' if drain_met else '**no**'} |"
        )
        for item in [data["bulk"], *data["reads"], *data["cold_start"], data["scheduler_poll"]]:
            print(row(item))
        dispatch = data["dispatch"]
        print(
            f"| dispatch latency, due time → process running (median of "
            f"{len(dispatch['all'])}) | {dispatch['ours']} s | | | ≤ 1.5 s | "
            f"{'yes' if dispatch['meets_target'] else '**no**'} |"
        )
    render = report.get("orchestrator_render")
    if render and "error" not in render:
        print(
            f"\nOrchestrator server render (SQLite): Triggers tab with 1,000 triggers "
            f"{render['triggers_tab_1000']} ms; first page of a 1,000,000-element queue "
            f"{render['queue_first_page_1m']} ms (target ≤ 200 ms)."
        )


if __name__ == "__main__":
    main()
