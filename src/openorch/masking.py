"""Text fit to show: secrets masked, control characters escaped.

`mask` is the one masking function of openorch. Every message, log row, notification
and line of Scheduler output that may carry a connection string or a URL goes through
it, so a password never reaches a screen, a terminal or the Logs table. It works on
any text (a whole sentence, an error from a driver or from git), not only on a parsed
URL, because secrets arrive embedded in such text:

- a connection string on its own (`postgresql+psycopg://...`, `mssql+pyodbc://...`) is
  parsed the way SQLAlchemy parses it and rendered with its password hidden, so a
  password holding `/ ? #` or a space (which SQLAlchemy accepts unencoded) is hidden
  whole;
- `scheme://user:password@host` (SQLAlchemy URLs, git and HTTP URLs) -> `user:***@`; in
  a database URL inside other text the password runs, as SQLAlchemy reads it, up to
  the first `@` of the line, so `/ ? #` and spaces in it are hidden too;
- `https://token@host` (a git token given as the user name) -> `***@`;
- `password=`, `pwd=`, `passwd=`, `token=`, `secret=` ... in query strings and ODBC
  connection strings (`PWD={...}` braces included), plain or URL-encoded (as inside
  `odbc_connect=`) -> `password=***`.

`escape_controls` makes a name safe to print to a terminal: a trigger name holding
an escape sequence would otherwise recolour, move or rewrite the admin's terminal.
"""

import functools
import re
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url

#: What replaces a secret.
HIDDEN = "***"

#: Keys whose value is a secret, in query strings and ODBC connection strings.
_SECRET_KEYS = (
    r"password|passwd|pwd|pass|secret|token|access_token|auth_token|api_key|apikey"
    r"|client_secret|sslpassword"
)

#: Every secret key above contains one of these (a quick test before the expressions).
_KEY_WORDS = ("pass", "pwd", "secret", "token", "api_key", "apikey")

# scheme://userinfo@ — userinfo runs to the last '@' before the path; it may not hold
# '/', '?', '#' or whitespace (those would be encoded in a real URL).
_USERINFO = r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^/?#\s@]*(?:@[^/?#\s@]*)*)@"

# key=value, with the value braced ({...}, ODBC), quoted, or up to a separator.
_PLAIN_PAIR = (
    rf"(?P<key>\b(?:{_SECRET_KEYS}))(?P<eq>\s*=\s*)"
    r"(?P<value>\{(?:[^}]|\}\})*\}|'[^']*'|\"[^\"]*\"|[^&;\s'\"]+)"
)

# The same, URL-encoded once (odbc_connect=DRIVER%3D...%3BPWD%3Dsecret%3B).
_ENCODED_PAIR = (
    r"(?P<key>(?:(?<=%3B)|(?<=%3b)|(?<=%26)|(?<![A-Za-z0-9_]))"
    rf"(?:{_SECRET_KEYS}))(?P<eq>%3D)"
    r"(?P<value>(?:%7B.*?%7D)|(?:(?!%3B)[^&\s'\"])+)"
)

#: Database URL schemes: SQLAlchemy reads their password as everything up to the '@'
#: (`/ ? #` and spaces included), so masking must too. A scheme with a `+driver` part
#: is always one.
_DATABASE_SCHEME = (
    r"(?:(?:postgresql|postgres|mssql|sqlite|mysql|mariadb|oracle|cockroachdb)"
    r"(?:\+[A-Za-z0-9_]+)?|[A-Za-z][A-Za-z0-9_]*\+[A-Za-z0-9_]+)://"
)

# A database URL's user:password@ (linear: the password cannot hold '@', so there is
# one place it can end); `_hide_database_password` leaves passwords _USERINFO handles.
_DATABASE_USERINFO = (
    rf"(?P<scheme>\b{_DATABASE_SCHEME})(?P<user>[^:/@\s]*):"
    r"(?P<password>[^@\n]*)@"
)

# A whole text that is one database URL (no line break): parsed, then rendered.
_WHOLE_DATABASE_URL = rf"\s*{_DATABASE_SCHEME}[^\n]*"

#: Schemes where a bare user name (no password) is a secret: HTTP tokens (GitHub,
#: GitLab) travel as `https://<token>@host`. For ssh and git the user name ("git") is not.
_TOKEN_USER_SCHEMES = ("http://", "https://")

# Characters a terminal acts on: C0 controls, DEL, C1 controls.
_CONTROLS = r"[\x00-\x1f\x7f-\x9f]"


@functools.cache
def _compiled(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`pattern` compiled on first use: compiling all of them at import cost every SDK
    process start, and most text never reaches an expression (see the substring tests in `mask`)."""
    return re.compile(pattern, flags)


def _hide_userinfo(match: re.Match[str]) -> str:
    scheme, info = match.group("scheme"), match.group("info")
    if not info:
        return match.group(0)
    user, colon, _password = info.partition(":")
    if colon:
        return f"{scheme}{user}:{HIDDEN}@"
    if scheme.lower() in _TOKEN_USER_SCHEMES:
        return f"{scheme}{HIDDEN}@"
    return match.group(0)


def _hide_database_password(match: re.Match[str]) -> str:
    if not any(char in "/?#" or char.isspace() for char in match.group("password")):
        return match.group(0)  # nothing _USERINFO stops at: it masks this one
    return f"{match.group('scheme')}{match.group('user')}:{HIDDEN}@"


def _parsed_and_rendered(value: str) -> str:
    """A text that is one database URL, rendered from SQLAlchemy's own parse with the
    password hidden (what SQLAlchemy would send as the password is exactly what is
    hidden); any other text unchanged."""
    if not _compiled(_WHOLE_DATABASE_URL, re.IGNORECASE).fullmatch(value):
        return value
    try:
        url = make_url(value.strip())
    except Exception:  # not a URL after all: the expressions below still apply
        return value
    if url.password is None:
        return value
    return url.render_as_string(hide_password=True)


def _hide_value(match: re.Match[str]) -> str:
    return f"{match.group('key')}{match.group('eq')}{HIDDEN}"


def mask(text: object) -> str:
    """`text` with every password, token and secret parameter replaced by `***`.

    Accepts a SQLAlchemy `URL` (rendered with its password hidden first) or anything
    else (turned into a string). Idempotent: masking masked text changes nothing.
    """
    if isinstance(text, URL):
        value = text.render_as_string(hide_password=True)
    else:
        value = text if isinstance(text, str) else str(text)
    # Cheap substring tests first: most text (every log row passes here) has no secret,
    # and then no regular expression runs at all.
    if "@" in value and "://" in value:
        value = _parsed_and_rendered(value)
        value = _compiled(_DATABASE_USERINFO, re.IGNORECASE).sub(_hide_database_password, value)
        value = _compiled(_USERINFO).sub(_hide_userinfo, value)
    if "=" in value or "%" in value:
        lowered = value.lower()
        if any(word in lowered for word in _KEY_WORDS):
            if "=" in value:
                value = _compiled(_PLAIN_PAIR, re.IGNORECASE).sub(_hide_value, value)
            if "%3d" in lowered:
                value = _compiled(_ENCODED_PAIR, re.IGNORECASE).sub(_hide_value, value)
    return value


def escape_controls(text: object) -> str:
    """`text` with control characters written as escapes (`\\x1b`, `\\n`), so what is
    printed to a terminal is exactly what the reader sees."""
    value = text if isinstance(text, str) else str(text)
    if not _compiled(_CONTROLS).search(value):
        return value
    return _compiled(_CONTROLS).sub(lambda match: repr(match.group(0))[1:-1], value)


def for_terminal(text: object) -> str:
    """One line fit for a terminal or an output window: masked, every control character
    (newlines too) escaped, so a name can neither drive the terminal nor forge a line."""
    return escape_controls(mask(text))


def mask_url(url: str) -> str:
    """A webhook URL with everything after the host hidden (its path is the secret).
    Here, not with the alert channels, so the audit trail can mask one without importing
    the alerts (store/alerts/ is loaded only by the facade)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"
