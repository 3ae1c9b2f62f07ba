"""docs/sdk.md stays true: its `python` blocks run, in order, in one namespace.

(`py` blocks are excerpts that need a Scheduler or elided code; they are not run.)
"""

import re
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def test_every_python_example_in_the_sdk_reference_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from OpenOrchestrator.common import crypto_util
    from OpenOrchestrator.database import db_util

    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert len(blocks) >= 15
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    saved_key = crypto_util.get_key()
    namespace: dict[str, object] = {"__name__": "sdk_doc"}
    try:
        for number, block in enumerate(blocks, 1):
            try:
                exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
            except Exception as error:
                pytest.fail(f"docs/sdk.md python block {number} failed: {error!r}\n{block}")
    finally:
        db_util.disconnect()
        crypto_util.set_key(saved_key)
    assert "Hello again" in capsys.readouterr().out
