"""Pruning under load (issue 29), small: bench/prune_bench.py's own phases on each
backend, with real claimer processes claiming and finishing elements while this process
prunes old logs and elements, and the figures printed. The assertions are loose (a
shared CI machine is noisy; docs/benchmarks.md has the measurement at scale): claims go
on while pruning, the pruner makes progress, and no claim waits anywhere near a lock
timeout."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "prune_bench.py"


def _prune_bench() -> object:
    spec = importlib.util.spec_from_file_location("prune_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("prune_bench", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_claims_go_on_while_pruning(empty_url: str, tmp_path: Path) -> None:
    bench = _prune_bench()
    report = bench.bench(  # type: ignore[attr-defined]
        empty_url, 30_000, 10_000, 4, 4.0, tmp_path, rounds=1, work_elements=50_000
    )
    print(json.dumps({k: v for k, v in report.items() if k != "phases"}, indent=1))
    quiet, busy = report["without_pruning"], report["while_pruning"]
    assert quiet["claims_per_second"] > 0 and busy["claims_per_second"] > 0
    assert busy["rows_pruned"]["logs"] > 0
    assert report["rate_ratio"] > 0.3, report
    assert busy["longest_claim_ms"] < 20_000
