"""Time-ordered ids: valid version-7 UUIDs, unique, increasing within a batch."""

import uuid

from openorch.database.ids import new_id, ordered_uuid_bytes


def test_batch_is_increasing_unique_version_7() -> None:
    raw = ordered_uuid_bytes(10_000)
    ids = [uuid.UUID(bytes=raw[16 * i : 16 * i + 16]) for i in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 10_000
    assert {(i.version, i.variant) for i in ids} == {(7, uuid.RFC_4122)}


def test_single_ids_are_version_7_and_unique() -> None:
    ids = {new_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert {(i.version, i.variant) for i in ids} == {(7, uuid.RFC_4122)}
