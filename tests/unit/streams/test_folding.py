"""The join's fold around identity links: a person waits for merged activity at the link's
place, so its outputs are the same whichever arrives first, the marker or the activity."""

from __future__ import annotations

from datetime import UTC, datetime

from foundation.settings import StreamSettings
from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde
from streams.activity.folding import Folder, FoldHooks, FoldOut, Released
from streams.activity.join import BatchOutcome, JoinStep
from streams.activity.process import StepResult
from streams.activity.schedule import DueQueue, next_check_ms
from streams.batches import EntryKind, ResolvedEntry
from streams.messages import Interaction, Marker, UserSignal
from streams.state import UserState
from streams.timeconv import to_ms
from tests.fixtures import events as ev

CFG = StreamSettings()
SERDE = AvroSerde(SchemaCatalog.load())
PRODUCT, COMMUNITY, LINKS = "product-events", "community-events", "identity-links"
PERSON, OLD = "person-1", "old-1"
LINK_AT = ev.at(hours=5)


class Table:
    """The users table and every output, as the agents would see them."""

    def __init__(self) -> None:
        self.users: dict[str, UserState] = {}
        self.published: list[tuple[str, str, int]] = []  # (user, update id, event count)
        self.judged: list[tuple[str, str, str]] = []  # triggers and health: (user, id, source event)

    def hooks(self) -> FoldHooks:
        def publish(canonical_id: str, result: StepResult) -> bool:
            if result.score_update is not None:
                u = result.score_update
                self.published.append((canonical_id, u.update_id, u.event_count))
            for trigger in result.triggers:
                self.judged.append((canonical_id, trigger.trigger_id, trigger.source_event_id))
            if result.health is not None:
                health = result.health
                self.judged.append((canonical_id, health.health_id, health.source_event_id))
            return True

        def no_dead_letters(outcome: BatchOutcome) -> None:
            assert not outcome.failures, outcome.failures

        return FoldHooks(
            load=self.users.get,
            publish=publish,
            route_to_mentors=lambda _event, _state: None,
            dead_letter=no_dead_letters,
            clock=lambda: datetime(2030, 1, 1, tzinfo=UTC),
        )

    def write(self, out: FoldOut) -> None:
        self.users.update(out.changed)


def _event(name: str, identity: object, canonical_id: str, hours: float, offset: int, topic: str) -> Released:
    event = ev.make(name, identity, ev.at(hours=hours), **_payload(name))  # type: ignore[arg-type]
    resolved = event.model_copy(update={"canonical_id": canonical_id})
    out = "product-by-user" if topic == PRODUCT else "community-by-user"
    tag = to_ms(ev.at(hours=hours))
    return tag, (ResolvedEntry(topic, 0, offset, canonical_id, SERDE.encode(resolved, out), tag), offset)


def _payload(name: str) -> dict[str, object]:
    if name == "FeatureUsed":
        return {"feature": "export"}
    if name == "PostCreated":
        return {"post_id": "q1", "channel": "help", "title": "How?", "is_question": True}
    return {"post_id": "p", "reaction": "+1"}


def _markers(link_offset: int) -> tuple[Released, Released]:
    marker = Marker(OLD, PERSON, f"link-1:{OLD}", "link-1", to_ms(LINK_AT), None).to_bytes()
    tag = to_ms(LINK_AT)
    out = ResolvedEntry(LINKS, 0, link_offset, OLD, marker, tag, EntryKind.MERGE_OUT, 0)
    expect = ResolvedEntry(LINKS, 0, link_offset, PERSON, marker, tag, EntryKind.MERGE_EXPECT, 1)
    return (tag, (out, 100)), (tag, (expect, 100))


Scenario = tuple[list[Released], Released, Released, list[Released]]


def _scenario() -> Scenario:
    """Old id's activity before the link, the person's before and after it."""
    github, product = ev.github("grace"), ev.product("grace-1")
    before = [
        _event("ReactionAdded", github, OLD, 1, 0, COMMUNITY),
        _event("FeatureUsed", product, PERSON, 2, 0, PRODUCT),
    ]
    merge_out, expect = _markers(0)
    return before, merge_out, expect, [_event("FeatureUsed", product, PERSON, 6, 1, PRODUCT)]


def _run(scenario: Scenario, *, merge_first: bool) -> Table:
    """The merge-in delivered before the person's marker (merge_first) or after the
    person's later event."""
    table = Table()
    folder = Folder(CFG, JoinStep(CFG, SERDE), table.hooks())
    queue = DueQueue()
    before, merge_out, expect, after = scenario
    # The old id's partition reaches the link: its state leaves as a merge-in signal.
    out = folder.fold(0, [*before, merge_out], None, queue)
    table.write(out)
    [signal] = out.signals
    if merge_first:
        table.write(folder.receive_merge(0, _roundtrip(signal), None, queue))
    out = folder.fold(0, [expect, *after], None, queue)
    table.write(out)
    if not merge_first:
        assert table.users[PERSON].awaiting == [f"link-1:{OLD}"]
        assert [p[1] for p in table.published if p[0] == PERSON][-1].startswith(PERSON + ":")
        table.write(folder.receive_merge(0, _roundtrip(signal), None, queue))
    return table


def _roundtrip(signal: UserSignal) -> UserSignal:
    return UserSignal.loads(signal.dumps(serializer="json"), serializer="json")


def test_the_person_waits_for_merged_activity_so_both_arrival_orders_give_the_same_outputs() -> None:
    scenario = _scenario()
    early, late = _run(scenario, merge_first=True), _run(scenario, merge_first=False)
    person = [(u, c) for who, u, c in early.published if who == PERSON]
    # used (1), the merge at the link (2), the later event after it (3): in that order.
    assert [c for _, c in person] == [1, 2, 3]
    assert person[1][0] == f"{PERSON}:merge:link-1:{OLD}"
    assert late.published == early.published
    assert late.users[PERSON] == early.users[PERSON]
    assert late.users[PERSON].awaiting == [] and late.users[PERSON].early_merges == {}
    assert late.users[OLD].merged_into == PERSON


def test_a_merge_with_no_activity_to_move_lets_the_person_go_on_without_an_update() -> None:
    table = Table()
    folder = Folder(CFG, JoinStep(CFG, SERDE), table.hooks())
    queue = DueQueue()
    merge_out, expect = _markers(0)
    out = folder.fold(0, [merge_out], None, queue)  # the old id never had an event
    [signal] = out.signals
    assert signal.state is None and out.changed == {}
    later = _event("FeatureUsed", ev.product("grace-1"), PERSON, 6, 1, PRODUCT)
    table.write(folder.fold(0, [expect, later], None, queue))
    assert table.published == []  # the later event waits
    table.write(folder.receive_merge(0, _roundtrip(signal), None, queue))
    assert [(u[0], u[2]) for u in table.published] == [(PERSON, 1)]
    assert table.users[PERSON].merged == [f"link-1:{OLD}"]


def test_an_interaction_entry_is_applied_once_in_its_sources_order() -> None:
    table = Table()
    folder = Folder(CFG, JoinStep(CFG, SERDE), table.hooks())
    queue = DueQueue()
    tag = to_ms(ev.at(hours=1))
    value = Interaction("REPLY", "q1", True, tag).to_bytes()
    entry = ResolvedEntry(COMMUNITY, 2, 7, PERSON, value, tag, EntryKind.INTERACTION, 1)
    out = folder.fold(0, [(tag, (entry, 3))], None, queue)
    table.write(out)
    reach = table.users[PERSON].reach
    assert reach.value == 1.0 and table.users[PERSON].applied_interactions == {f"{COMMUNITY}:2": 7}
    assert table.users[PERSON].answered_posts == ["q1"]
    again = folder.fold(0, [(tag, (entry, 4))], None, queue)  # redelivered after a restart
    assert again.changed == {} and again.done == [4]


def test_a_judgement_keeps_the_time_it_was_scheduled_from_so_a_rebuilt_queue_matches() -> None:
    table = Table()
    folder = Folder(CFG, JoinStep(CFG, SERDE), table.hooks())
    queue = DueQueue()
    used = _event("FeatureUsed", ev.product("grace-1"), PERSON, 1, 0, PRODUCT)
    table.write(folder.fold(0, [used], None, queue))
    first_due = queue.due_of(PERSON)
    assert first_due is not None and table.users[PERSON].due_from_ms == to_ms(ev.at(hours=1))
    # Every input has passed the due time: the user is judged there, and the next due time
    # is scheduled from it (not from the last event, which a restart would start from).
    table.write(folder.fold(0, [], first_due + 1, queue))
    state = table.users[PERSON]
    assert state.due_from_ms == first_due
    assert (
        queue.due_of(PERSON)
        == next_check_ms(state, first_due, CFG)
        != next_check_ms(state, state.last_event_ms, CFG)
    )


def test_a_due_time_made_by_one_event_is_judged_before_the_next_event_of_the_same_fold() -> None:
    # A question asked at 1 h comes due at 49 h, between the asker's events at 48 h and 50 h,
    # and the only other queued due time is later: one fold of all of them (a backlog after
    # a restart) must judge it where folding them one at a time does.
    asker, other = ev.email("asker@example.com"), ev.product("other-1")
    entries = [
        _event("FeatureUsed", other, "other", 0.5, 0, PRODUCT),
        _event("PostCreated", asker, PERSON, 1, 0, COMMUNITY),
        _event("ReactionAdded", asker, PERSON, 48, 1, COMMUNITY),
        _event("ReactionAdded", asker, PERSON, 50, 2, COMMUNITY),
        _event("FeatureUsed", other, "other", 80, 1, PRODUCT),
    ]

    def fold_all(steps: list[list[Released]]) -> Table:
        table = Table()
        folder = Folder(CFG, JoinStep(CFG, SERDE), table.hooks())
        queue = DueQueue()
        for k, step in enumerate(steps):
            following = steps[k + 1][0][0] if k + 1 < len(steps) else None
            # The watermark a live join would have: every input has reached the next entry.
            table.write(folder.fold(0, step, following, queue))
        return table

    one_by_one = fold_all([[entry] for entry in entries])
    unanswered = [j for j in one_by_one.judged if "QUESTION_UNANSWERED" in j[1]]
    assert [j[2] for j in unanswered] == [f"tick:{to_ms(ev.at(hours=49))}"]
    for cuts in ([5], [2, 3], [1, 3, 1], [4, 1]):
        steps, start = [], 0
        for size in cuts:
            steps.append(entries[start : start + size])
            start += size
        chunked = fold_all(steps)
        assert chunked.judged == one_by_one.judged, cuts
        assert chunked.published == one_by_one.published, cuts
        assert chunked.users == one_by_one.users, cuts
