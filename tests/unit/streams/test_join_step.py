"""The join's batch step: one state per user per batch, redeliveries and re-sends skipped."""

from __future__ import annotations

from datetime import UTC, datetime

from foundation.settings import StreamSettings
from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde
from streams.activity.join import JoinStep
from streams.activity.process import apply_event
from streams.batches import ResolvedBatch, ResolvedEntry, SourceClock, decode_batch, encode_batch
from streams.ordering import EventTimeMerge
from streams.state import UserState
from tests.fixtures import events as ev

CFG = StreamSettings()
SERDE = AvroSerde(SchemaCatalog.load())
EMITTED = datetime(2030, 1, 1, tzinfo=UTC)
PRODUCT = "product-events"


def _entry(event: object, offset: int, canonical_id: str = "u1", partition: int = 0) -> ResolvedEntry:
    resolved = event.model_copy(update={"canonical_id": canonical_id})  # type: ignore[attr-defined]
    return ResolvedEntry(PRODUCT, partition, offset, canonical_id, SERDE.encode(resolved, "product-by-user"))


def _events() -> list[object]:
    return [
        ev.make("FeatureUsed", ev.product("a"), ev.at(hours=1), feature="x"),
        ev.make("FeatureUsed", ev.product("a"), ev.at(hours=2), feature="y"),
        ev.make("FeatureUsed", ev.product("a"), ev.at(hours=3), feature="z"),
    ]


def test_batch_codec_round_trips_every_field() -> None:
    entries = [ResolvedEntry("t", 3, 2**40, "c", b"\x00\xff", 2**41), ResolvedEntry("u", 0, 0, "d", b"")]
    clocks = {"t:3": SourceClock(2**41, False), "u:0": SourceClock(None, True)}
    decoded = decode_batch(encode_batch(entries, clocks))
    assert decoded.entries == entries
    assert decoded.clocks == clocks
    # A record of clocks alone (what the resolve stage sends a partition it has no events for).
    assert decode_batch(encode_batch([], clocks)) == ResolvedBatch([], clocks)


def test_a_batch_gives_the_same_scores_as_folding_one_event_at_a_time() -> None:
    events = _events()
    expected_state: UserState | None = None
    expected_scores = []
    for e in events:
        result = apply_event(expected_state, e.model_copy(update={"canonical_id": "u1"}), "u1", CFG, EMITTED)  # type: ignore[attr-defined]
        expected_state = result.state
        expected_scores.append(result.score_update)
    out = JoinStep(CFG, SERDE).run([_entry(e, i) for i, e in enumerate(events)], lambda _: None, EMITTED)
    assert [a.result.score_update for a in out.applied] == expected_scores
    assert [u.event_count for u in expected_scores if u is not None] == [1, 2, 3]
    # One state per user, recording how far the input has been applied.
    assert list(out.states) == ["u1"]
    assert out.states["u1"].applied == {"product-events:0": 2}
    assert out.states["u1"].event_count == 3


def test_redelivered_offsets_and_resent_event_ids_are_skipped() -> None:
    events = _events()
    step = JoinStep(CFG, SERDE)
    first = step.run([_entry(e, i) for i, e in enumerate(events[:2])], lambda _: None, EMITTED)
    stored = first.states["u1"]
    # After a crash the input is read again from an older offset: 0 and 1 are in state.
    replay = [_entry(e, i) for i, e in enumerate(events)]
    # And a service re-sends event 0 under a new offset with the same event_id.
    resent = _entry(events[0], 7)
    again = step.run([*replay, resent], lambda cid: stored if cid == "u1" else None, EMITTED)
    assert again.redelivered == 3
    assert [a.event.event_id for a in again.applied] == [events[2].event_id]  # type: ignore[attr-defined]
    assert again.states["u1"].event_count == 3
    assert again.states["u1"].applied == {"product-events:0": 2}


def test_offsets_are_tracked_per_input_partition() -> None:
    a, b, c = _events()
    out = JoinStep(CFG, SERDE).run(
        [_entry(a, 10, partition=0), _entry(b, 3, partition=1), _entry(c, 4, partition=1)],
        lambda _: None,
        EMITTED,
    )
    assert out.states["u1"].applied == {"product-events:0": 10, "product-events:1": 4}
    assert out.states["u1"].event_count == 3


def test_an_entry_whose_bytes_do_not_decode_fails_alone() -> None:
    a, b, _ = _events()
    bad = ResolvedEntry(PRODUCT, 0, 1, "u1", b"\xc3\x01garbage")
    out = JoinStep(CFG, SERDE).run([_entry(a, 0), bad, _entry(b, 2)], lambda _: None, EMITTED)
    assert [f[0].offset for f in out.failures] == [1]
    assert str(out.failures[0][1]) == "product-events[0]@1: single-object header truncated (9 bytes)"
    assert out.states["u1"].event_count == 2


def test_an_entry_whose_event_names_another_user_is_refused() -> None:
    a, _, _ = _events()
    wrong = ResolvedEntry(PRODUCT, 0, 0, "u2", _entry(a, 0, canonical_id="u1").value)
    out = JoinStep(CFG, SERDE).run([wrong], lambda _: None, EMITTED)
    assert out.states == {}
    assert "expected its resolved event" in str(out.failures[0][1])


def test_the_inputs_of_a_user_are_folded_in_event_time_order() -> None:
    used = ev.make("FeatureUsed", ev.product("a"), ev.at(hours=2), feature="x")
    posted = ev.make("PostCreated", ev.product("a"), ev.at(hours=1), post_id="p", channel="c", title="t")
    late = ev.make("FeatureUsed", ev.product("a"), ev.at(hours=0), feature="y")
    h = 3_600_000
    t0 = _entry(late, 0).tag  # the fixture's tags are 0: tag as the resolve stage would
    community = ResolvedEntry(
        "community-events",
        0,
        0,
        "u1",
        SERDE.encode(posted.model_copy(update={"canonical_id": "u1"}), "c"),
        tag=t0 + h,
    )
    # Arrival order: the product event at 2 h, then (same partition) a late one at 0 h,
    # whose tag is its partition's 2 h; then the community event at 1 h from another input.
    product = [
        ResolvedEntry(PRODUCT, 0, 5, "u1", _entry(used, 5).value, t0 + 2 * h),
        ResolvedEntry(PRODUCT, 0, 6, "u1", _entry(late, 6).value, t0 + 2 * h),
    ]
    merge = EventTimeMerge[ResolvedEntry]([f"{PRODUCT}:0", "community-events:0"])
    for e in product:
        merge.add(e.source, e.tag, e.offset, e)
    merge.report({f"{PRODUCT}:0": SourceClock(t0 + 2 * h, False)})
    assert list(merge.release()) == []  # the community input has not reported yet
    merge.add(community.source, community.tag, community.offset, community)
    merge.report({"community-events:0": SourceClock(t0 + 3 * h, False)})
    ordered = [e for _, e in merge.release()]
    out = JoinStep(CFG, SERDE).run(ordered, lambda _: None, EMITTED)
    # The community event comes before the later product event; the product partition keeps
    # its own order (offsets only grow), so the late event stays after the one at 2 h.
    assert [a.event.event_id for a in out.applied] == [posted.event_id, used.event_id, late.event_id]
    assert [a.result.score_update.event_count for a in out.applied] == [1, 2, 3]  # type: ignore[union-attr]
    assert out.states["u1"].applied == {"product-events:0": 6, "community-events:0": 0}


def test_an_event_for_an_id_already_merged_goes_on_to_its_person() -> None:
    a, b, _ = _events()
    husk = UserState(canonical_id="old", first_seen_ms=0, event_count=4, merged_into="person")
    out = JoinStep(CFG, SERDE).run(
        [_entry(a, 7, canonical_id="old"), _entry(b, 8, canonical_id="live")],
        lambda cid: husk if cid == "old" else None,
        EMITTED,
    )
    # The husk gains nothing but the record that offset 7 was handled (a redelivery skips it).
    assert out.states["old"].event_count == 4
    assert out.states["old"].applied == {"product-events:0": 7}
    assert [a_.canonical_id for a_ in out.applied] == ["live"]
    [forward] = out.forwards
    assert (forward.into, forward.event.event_id) == ("person", a.event_id)  # type: ignore[attr-defined]
    # The event alone, as merge_states folds it into the person; no input offsets (they are
    # the husk's partition's), its event id to recognise a redelivery.
    assert (forward.state.event_count, forward.state.applied) == (1, {})
    assert forward.state.recent_event_ids == [a.event_id]  # type: ignore[attr-defined]
    again = JoinStep(CFG, SERDE).run([_entry(a, 7, canonical_id="old")], lambda _: out.states["old"], EMITTED)
    assert (again.forwards, again.redelivered) == ([], 1)
