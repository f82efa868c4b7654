"""The synthetic workload: deterministic, well-formed, and shaped like the claim it tests."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

from producers.population import Kind, WorkloadConfig, build_population
from producers.workload import generate
from schemas import models
from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde
from schemas.topics import base_topic_for

CFG = WorkloadConfig(users=60, days=21, seed=11)


def test_same_seed_same_events_other_seed_other_events() -> None:
    first, again = list(generate(CFG)), list(generate(CFG))
    other = list(generate(CFG.model_copy(update={"seed": 12})))
    assert first == again
    assert [e.event_id for e in first] != [e.event_id for e in other]


def test_events_are_in_event_time_order_with_unique_ids() -> None:
    events = list(generate(CFG))
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
    assert len({e.event_id for e in events}) == len(events)
    assert all(CFG.start <= e.occurred_at < CFG.start + timedelta(days=CFG.days + 1) for e in events)


def test_at_one_instant_links_come_before_events() -> None:
    events = list(generate(CFG))
    instants = defaultdict(list)
    for e in events:
        instants[e.occurred_at].append(isinstance(e, models.IdentityLink))
    shared = [kinds for kinds in instants.values() if True in kinds and False in kinds]
    assert shared, "the workload has signups whose link and first events share an instant"
    assert all(kinds == sorted(kinds, reverse=True) for kinds in shared)


def test_every_event_validates_and_round_trips_through_the_serde() -> None:
    serde = AvroSerde(SchemaCatalog.load())
    for event in generate(CFG):
        topic = base_topic_for(type(event))
        assert serde.decode(serde.encode(event, topic), topic=topic) == event


def test_population_shape_follows_the_config() -> None:
    people = build_population(CFG, random.Random(CFG.seed))
    assert [p.kind for p in people[: CFG.teammates]] == [Kind.TEAMMATE] * CFG.teammates
    assert all(p.is_member for p in people if p.kind is Kind.TEAMMATE)
    assert all(p.churn_day is not None for p in people if p.kind is Kind.CHURNER)
    assert all(p.signup_day < 7 * CFG.signup_weeks for p in people)


def test_members_churn_less_than_non_members() -> None:
    people = build_population(WorkloadConfig(users=4000, seed=5), random.Random(5))
    share = {}
    for member in (True, False):
        group = [p for p in people if p.is_member == member and p.kind is not Kind.TEAMMATE]
        share[member] = sum(p.kind is Kind.CHURNER for p in group) / len(group)
    assert share[True] < share[False] / 2


def test_churners_product_use_decays_and_stops() -> None:
    events = list(generate(CFG))
    people = {p.product_id: p for p in build_population(CFG, random.Random(CFG.seed))}
    per_day: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if e.avro_name.startswith("orbitstream.product") and e.identity.provider == "product":
            per_day[e.identity.external_id][(e.occurred_at - CFG.start).days] += 1
    churners = [p for p in people.values() if p.kind is Kind.CHURNER and p.churn_day is not None]
    assert churners
    for p in churners:
        days = per_day[p.product_id]
        late = sum(n for d, n in days.items() if d >= p.churn_day + 4)
        assert late == 0, f"{p.product_id} still active {late} times after churning"


def test_every_member_joins_and_questions_follow_api_errors() -> None:
    events = list(generate(CFG))
    joined = [e for e in events if isinstance(e, models.MemberJoined)]
    members = [p for p in build_population(CFG, random.Random(CFG.seed)) if p.is_member]
    assert len(joined) == len(members)
    questions = [e for e in events if isinstance(e, models.PostCreated) and e.payload.is_question]
    error_classes = set(CFG.error_classes)
    assert questions and all(set(q.payload.tags) <= error_classes for q in questions)
    accepted = [e for e in events if isinstance(e, models.AnswerAccepted)]
    assert accepted and all(a.payload.asker is not None for a in accepted)
