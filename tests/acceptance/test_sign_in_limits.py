"""Issue 23, brute force: failed token checks on the HTTP API are limited per client
address and in total (429 with Retry-After) and logged — over real HTTP against a real
`openorch api`. (The page's side: test_access.py::test_the_page_limits_wrong_tokens_and_
keeps_signed_in_browsers; the limiter itself: tests/unit/test_sessions_and_limits.py.)"""

from pathlib import Path

import httpx

from openorch.database import ApiScope
from openorch.sign_in_limiter import IN_TOTAL, PER_ADDRESS, WINDOW_SECONDS
from openorch.store import Store
from support.api_server import ApiServer
from support.databases import migrated


def test_the_api_limits_wrong_tokens_per_address_and_in_total(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'api.db'}")
    store = Store(url)
    _token, secret = store.create_api_token("reader", [ApiScope.READ])
    store.close()
    api = ApiServer(tmp_path, url)
    try:
        # `openorch api` trusts X-Forwarded-For from 127.0.0.1 (a local proxy), so each
        # request here comes "from" the address it names.
        def get(address: str, token: str) -> httpx.Response:
            return httpx.get(
                f"{api.base}/api/v1/jobs",
                headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": address},
            )

        for _ in range(PER_ADDRESS):
            assert get("198.51.100.1", "oot_guess").status_code == 401
        locked = get("198.51.100.1", "oot_guess")
        assert locked.status_code == 429, locked.text
        assert 0 < int(locked.headers["Retry-After"]) <= WINDOW_SECONDS
        assert get("198.51.100.1", secret).status_code == 429  # right or wrong, it waits
        assert get("198.51.100.2", secret).status_code == 200  # another address may go on
        # Guesses spread over many addresses fill the total: then every address waits.
        for number in range(IN_TOTAL - PER_ADDRESS):
            assert get(f"203.0.113.{number}", "oot_guess").status_code == 401
        everyone = get("192.0.2.1", secret)
        assert everyone.status_code == 429 and int(everyone.headers["Retry-After"]) > 0
    finally:
        api.stop()
    output = api.text()
    assert "Failed sign-in with an unknown, revoked or expired API token from 198.51.100.1" in (
        output
    )
    assert "refused (429)" in output
    assert secret not in output and "oot_guess" not in output
