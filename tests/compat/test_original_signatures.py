"""The compatibility functions' signatures cannot drift from the real OpenOrchestrator
3.0.0's: every public function of `db_util` and `crypto_util`, every method of
`OrchestratorConnection`, and the ORM helpers, compared with `inspect.signature` of the
original installed in the side virtualenv.

The rule: every parameter the original has is there, at the same position, with the same
name and kind, and with the same default when the original has one. openorch may give a
default where the original had none (trigger and job ids are optional) and may add
optional parameters after the original's (`start_job(..., trigger_id=None)`).
"""

from typing import Any

from support.original import OriginalVenv, run_openorch, run_original


def drift(original: list[list[Any]], ours: list[list[Any]]) -> list[str]:
    """What breaks a call written for the original: a missing, renamed, moved or
    re-kinded parameter, a changed default, or a new required one."""
    problems = []
    for index, (name, kind, default, has_default) in enumerate(original):
        if index >= len(ours):
            problems.append(f"parameter {name!r} is missing")
            continue
        our_name, our_kind, our_default, our_has_default = ours[index]
        if (our_name, our_kind) != (name, kind):
            problems.append(
                f"parameter {index} is {our_name!r} ({our_kind}), "
                f"the original's is {name!r} ({kind})"
            )
        elif has_default and (not our_has_default or our_default != default):
            problems.append(f"{name!r} defaults to {our_default}, the original's to {default}")
    for name, kind, _default, has_default in ours[len(original) :]:
        if not has_default and kind not in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            problems.append(f"new required parameter {name!r}")
    return problems


def test_signatures_match_the_originals(original: OriginalVenv) -> None:
    theirs = run_original(original, "signatures.py")
    ours = run_openorch("signatures.py")
    assert len(theirs["own"]) > 70  # every db_util/crypto_util function, OC method, helper
    problems = []
    for name in theirs["own"]:
        if name not in ours["signatures"]:
            problems.append(f"{name}: missing")
            continue
        problems += [
            f"{name}: {problem}"
            for problem in drift(theirs["signatures"][name], ours["signatures"][name])
        ]
    assert not problems, "\n".join(problems)


def test_every_name_the_original_offers_is_importable(original: OriginalVenv) -> None:
    """Every class, function, enum and module the original's SDK modules offer (its own,
    not what it imported from SQLAlchemy or the standard library) is there in openorch's
    module of the same name."""
    theirs = run_original(original, "signatures.py")["surface"]
    ours = run_openorch("signatures.py")["surface"]
    missing = {
        module: sorted(set(names["own"]) - set(ours[module]["all"]))
        for module, names in theirs.items()
    }
    assert not any(missing.values()), missing
    assert "QueueStatus" in theirs["OpenOrchestrator.orchestrator_connection.connection"]["own"]
    assert "truncate_message" in theirs["OpenOrchestrator.database.db_util"]["own"]


def test_the_drift_rule_catches_what_breaks_callers() -> None:
    original = [
        ["self", "POSITIONAL_OR_KEYWORD", None, False],
        ["queue_name", "POSITIONAL_OR_KEYWORD", None, False],
        ["limit", "POSITIONAL_OR_KEYWORD", "100", True],
    ]
    assert drift(original, original) == []
    renamed = [original[0], ["queue", "POSITIONAL_OR_KEYWORD", None, False], original[2]]
    assert drift(original, renamed)
    assert drift(original, original[:2])
    changed = [*original[:2], ["limit", "POSITIONAL_OR_KEYWORD", "50", True]]
    assert drift(original, changed)
    keyword_only = [*original[:2], ["limit", "KEYWORD_ONLY", "100", True]]
    assert drift(original, keyword_only)
    assert drift(original, [*original, ["extra", "POSITIONAL_OR_KEYWORD", None, False]])
    assert drift(original, [*original, ["extra", "POSITIONAL_OR_KEYWORD", "None", True]]) == []
