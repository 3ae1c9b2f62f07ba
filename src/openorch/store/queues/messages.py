"""How the queue layer words times in the messages it writes into elements (and the SDK's
pipeline messages): one place, so every message reads the same."""

from datetime import datetime, timedelta


def format_datetime(value: datetime) -> str:
    """A time in the messages the data layer writes: dd-mm-YYYY HH:MM:SS, as screens show it."""
    return value.strftime("%d-%m-%Y %H:%M:%S")


def stamp(moment: datetime | None) -> str:
    """A moment as stored messages show it (sortable, unambiguous)."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def describe_duration(duration: timedelta) -> str:
    """A short human duration: '45 s', '12 min', '3 h 5 min', '2 d 4 h'."""
    seconds = max(0, int(duration.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
