"""The layer rules of docs/architecture.md, checked on the source: what may import what.

A failure here names the module and the import that breaks a rule; fix the design rather
than the test (move the query into the data layer, the formatting into the UI).
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "openorch"

#: Layer -> module prefixes it must never import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # The data layer knows nothing of the programs or their UIs.
    "openorch.store": (
        "openorch.orchestrator",
        "openorch.scheduler",
        "openorch.sdk",
        "nicegui",
        "tkinter",
        "fastapi",
    ),
    "openorch.database": (
        "openorch.store",
        "openorch.orchestrator",
        "openorch.scheduler",
        "openorch.sdk",
        "nicegui",
        "tkinter",
    ),
    # Alerts (rules, channels, the watchdog) run inside headless Schedulers, over the
    # data layer: no UI, no Scheduler internals.
    "openorch.alerts": (
        "openorch.orchestrator",
        "openorch.scheduler",
        "openorch.sdk",
        "nicegui",
        "tkinter",
        "sqlalchemy.orm",
        "sqlalchemy.sql",
    ),
    # The Scheduler's engine runs headless: no UI toolkit outside its window.
    "openorch.scheduler": ("openorch.orchestrator", "nicegui"),
    # The SDK is imported by every RPA process: no UI, no Scheduler.
    "openorch.sdk": ("openorch.orchestrator", "openorch.scheduler", "nicegui", "tkinter"),
    # The HTTP API is a UI too: data through the data layer only, no other UI's code.
    "openorch.api": (
        "openorch.orchestrator",
        "nicegui",
        "tkinter",
        "sqlalchemy.orm",
        "sqlalchemy.sql",
    ),
    # The Orchestrator's UI talks to the database only through the data layer.
    "openorch.orchestrator": ("openorch.scheduler", "tkinter", "sqlalchemy.orm", "sqlalchemy.sql"),
    # A popup is opened by tabs; it never reaches back into one (shared rows and tables
    # live in orchestrator/rows.py, log_table.py, widgets.py).
    "openorch.orchestrator.popups": ("openorch.orchestrator.tabs",),
}

#: UI modules may use SQLAlchemy only for its error classes (to word a message).
UI_SQLALCHEMY_ALLOWED = {"sqlalchemy.exc"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + (1 if path.name == "__init__.py" else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base, [alias.name for alias in node.names]))
    return found


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda path: _module_name(path))
def test_layer_rules(path: Path) -> None:
    module = _module_name(path)
    window = module == "openorch.scheduler.window"  # the one place Tk belongs
    broken = []
    for line, imported, names in _imports(path):
        for layer, forbidden in FORBIDDEN.items():
            if not (module == layer or module.startswith(layer + ".")):
                continue
            for prefix in forbidden:
                if window and prefix == "tkinter":
                    continue
                if imported == prefix or imported.startswith(prefix + "."):
                    broken.append(f"line {line}: imports {imported}")
        ui_sql = module.startswith(("openorch.orchestrator", "openorch.api")) and (
            imported == "sqlalchemy" or imported.startswith("sqlalchemy.")
        )
        if ui_sql and imported not in UI_SQLALCHEMY_ALLOWED and not set(names) <= {"exc"}:
            broken.append(f"line {line}: UI code imports {imported} {names}")
    assert not broken, f"{module} breaks the layer rules: " + "; ".join(broken)


def test_the_rules_see_real_imports() -> None:
    """Guard against a vacuous pass: the walker finds the imports we know are there."""
    imports = {imported for _, imported, _ in _imports(PACKAGE / "store" / "core.py")}
    assert "sqlalchemy" in imports and "openorch.store.engine" in imports
