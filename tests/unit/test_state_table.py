"""The state machine's transitions, read as data (no database)."""

import pytest

from openorch.database import TriggerStatus as S
from openorch.database import TriggerType
from openorch.store.runs.state import (
    ACTIVE,
    TRIGGER_TRANSITIONS,
    Flavour,
    TriggerEvent,
    allowed,
    flavour_of,
    is_known_transition,
)


def test_enable_never_touches_a_running_trigger() -> None:
    for flavour in Flavour:
        assert allowed(TriggerEvent.ENABLE, flavour, S.RUNNING) is None
        assert allowed(TriggerEvent.ENABLE, flavour, S.KILLING) is None
        assert allowed(TriggerEvent.ENABLE, flavour, S.PAUSING) is S.RUNNING
        assert allowed(TriggerEvent.ENABLE, flavour, S.FAILED) is S.IDLE


def test_kill_only_while_running() -> None:
    sources = set(TRIGGER_TRANSITIONS[TriggerEvent.KILL][Flavour.ONCE])
    assert sources == set(ACTIVE)


def test_only_a_run_s_end_takes_a_trigger_out_of_running() -> None:
    """Nothing but SUCCEEDED/FAILED/KILLED (a job's end) moves RUNNING to rest."""
    ends = {TriggerEvent.SUCCEEDED, TriggerEvent.FAILED, TriggerEvent.KILLED}
    for event, flavours in TRIGGER_TRANSITIONS.items():
        for mapping in flavours.values():
            target = mapping.get(S.RUNNING)
            if target is not None and target not in ACTIVE:
                assert event in ends, (event, target)


@pytest.mark.parametrize(
    ("flavour", "expected"),
    [(Flavour.ONCE, S.FAILED), (Flavour.RECURRING, S.FAILED), (Flavour.RECURRING_KEEP, S.IDLE)],
)
def test_after_a_failure(flavour: Flavour, expected: S) -> None:
    assert allowed(TriggerEvent.FAILED, flavour, S.RUNNING) is expected
    assert allowed(TriggerEvent.FAILED, flavour, S.IDLE) is None


def test_flavours() -> None:
    assert flavour_of(TriggerType.SINGLE, True) is Flavour.ONCE
    assert flavour_of(TriggerType.QUEUE, None) is Flavour.RECURRING
    assert flavour_of(TriggerType.SCHEDULED, True) is Flavour.RECURRING_KEEP
    assert is_known_transition(S.IDLE, S.RUNNING)
    assert is_known_transition(S.RUNNING, S.IDLE)  # a recurring trigger's run ended
    assert not is_known_transition(S.DONE, S.RUNNING)


def test_a_saved_status_is_a_button_and_never_a_run_s_status() -> None:
    """update_trigger's requests (issue 24): each is an admin's event; a saved status
    never begins or ends a run."""
    from openorch.store.runs.state import REQUESTED_STATUS_EVENTS

    admin = {TriggerEvent.ENABLE, TriggerEvent.DISABLE, TriggerEvent.KILL}
    assert set(REQUESTED_STATUS_EVENTS.values()) <= admin
    assert not {S.RUNNING, S.DONE, S.FAILED} & set(REQUESTED_STATUS_EVENTS)
    for status, event in REQUESTED_STATUS_EVENTS.items():
        # From the status itself, the event keeps it (saving it twice changes nothing).
        reached = allowed(event, Flavour.ONCE, status)
        assert reached is None or reached in (status, S.KILLING), (status, reached)
