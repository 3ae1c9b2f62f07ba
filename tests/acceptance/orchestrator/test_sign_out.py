"""Settings → "Sign out every browser" (issue 23 F2): every session ends, the page is
sent to the login page, and the browser's cookie no longer opens even the shell."""

from nicegui.testing.user import User

from openorch.orchestrator import access
from support.ui import click_and_wait, until


async def test_sign_out_every_browser_ends_every_session(user: User) -> None:
    await user.open("/")
    sessions = access.current_guard().sessions
    assert len(sessions) == 1
    shell = await user.http_client.get("/", headers={"Accept": "text/html"})
    assert shell.status_code == 200 and "session_pending" in shell.text
    await click_and_wait(user, "settings_sign_out_all_button", "question_popup_yes_button")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: len(sessions) == 0)
    await until(lambda: user.client is not None and user.client.is_deleted, timeout=10)
    after = await user.http_client.get("/", headers={"Accept": "text/html"})
    assert after.status_code == 401 and "needs its token" in after.text
