"""The Overview's tables card (issue 29): each table's rows and size, what retention
keeps, and a suggestion for a large table kept whole."""

from nicegui.testing.user import User

from openorch.database import LogLevel
from openorch.store import Store
from support.ui import one, show_tab, table_rows, until


async def test_the_overview_shows_table_sizes(connected: User, db: Store) -> None:
    for number in range(7):
        db.create_log("p", LogLevel.INFO, None, f"line {number}")
    db.set_retention_policy({"logs": 30})
    user = connected
    await show_tab(user, "Overview")
    rows = await until(lambda: table_rows(user, "overview_tables_table"))
    by_table = {row["table"]: row for row in rows}
    logs = by_table["Logs"]
    assert logs["rows"] == "7" and logs["retention"] == "30 days" and logs["suggestion"] == ""
    assert logs["size"].endswith("kB") or logs["size"].endswith("MB"), logs
    assert by_table["Jobs"]["retention"] == "kept whole"
    assert by_table["Constants"]["retention"] == ""
    assert "Table sizes as of" in one(user, "overview_tables_label").text
