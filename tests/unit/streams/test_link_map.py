"""The identity map every resolve stage keeps: links applied in one order, events resolved
as of their own tag."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from schemas.identity import deterministic_canonical_id
from streams.identity.linkmap import LinkInput, LinkMap, link_order
from streams.identity.resolution import RefusalReason

PRODUCT, EMAIL, GITHUB = "product:ada-1", "email:ada@example.com", "github:adal"


def _det(key: str) -> str:
    provider, _, external = key.partition(":")
    return deterministic_canonical_id(provider, external)


def _link(
    first: str, second: str, tag: int, *, partition: int = 0, offset: int = 0, explicit: str | None = None
) -> LinkInput:
    return LinkInput(
        partition,
        offset,
        tag,
        event_id=f"l-{partition}-{offset}",
        first_key=first,
        second_key=second,
        explicit_canonical=explicit,
    )


def test_an_event_before_the_links_tag_keeps_its_own_id_and_one_at_or_after_it_gets_the_person() -> None:
    links = LinkMap(_det)
    outcome = links.apply(_link(PRODUCT, EMAIL, tag=1_000))
    person = _det(PRODUCT)
    assert links.resolve(EMAIL, 999) == _det(EMAIL)
    assert links.resolve(EMAIL, 1_000) == person
    assert links.resolve(EMAIL, 5_000) == person
    # The product identity's deterministic id is the person's: nothing moves for it.
    assert [(m.key, m.old, m.into) for m in outcome.merges] == [(EMAIL, _det(EMAIL), person)]
    assert outcome.merges[0].merge_id == f"l-0-0:{_det(EMAIL)}"


def test_a_named_canonical_id_moves_both_identities_and_a_third_joins_the_person() -> None:
    links = LinkMap(_det)
    both = links.apply(_link(EMAIL, GITHUB, tag=10, explicit="person-7"))
    assert [(m.key, m.into) for m in both.merges] == [(EMAIL, "person-7"), (GITHUB, "person-7")]
    third = links.apply(_link(PRODUCT, GITHUB, tag=20, offset=1))
    assert [(m.key, m.into) for m in third.merges] == [(PRODUCT, "person-7")]
    assert links.resolve(PRODUCT, 19) == _det(PRODUCT)
    assert links.resolve(PRODUCT, 20) == "person-7"


def test_two_people_are_not_merged_and_the_refusal_names_both() -> None:
    links = LinkMap(_det)
    links.apply(_link(PRODUCT, EMAIL, tag=1))
    links.apply(_link("product:bob-2", GITHUB, tag=2, offset=1))
    refused = links.apply(_link(EMAIL, GITHUB, tag=3, offset=2))
    assert refused.refused is RefusalReason.BOTH_HAVE_OTHER_IDENTITIES
    assert (refused.first_canonical, refused.second_canonical) == (_det(PRODUCT), _det("product:bob-2"))
    assert refused.merges == ()
    assert links.resolve(GITHUB, 10) == _det("product:bob-2")


def test_a_link_with_an_illegal_identity_is_refused_without_touching_the_map() -> None:
    links = LinkMap(_det)
    outcome = links.apply(LinkInput(0, 0, 5, event_id="bad", first_key=None, second_key=EMAIL))
    assert outcome.refused is RefusalReason.ILLEGAL_ID
    assert links.entries == {}


people = st.sampled_from([f"product:p{i}" for i in range(4)])
others = st.sampled_from([f"email:e{i}@x.org" for i in range(6)] + [f"github:g{i}" for i in range(6)])


@given(
    st.lists(st.tuples(people, others, st.integers(0, 50), st.integers(0, 2)), min_size=1, max_size=25),
    st.randoms(use_true_random=False),
)
def test_the_same_links_in_any_arrival_order_give_the_same_map_and_outcomes(
    specs: list[tuple[str, str, int, int]], rng: random.Random
) -> None:
    # Per partition, offsets in arrival order and tags that never go back (prefix maxima).
    per_partition: dict[int, list[LinkInput]] = {}
    for first, second, time, partition in specs:
        mine = per_partition.setdefault(partition, [])
        tag = max([time, *(link.tag for link in mine)])
        mine.append(_link(first, second, tag, partition=partition, offset=len(mine)))
    arrived = [link for mine in per_partition.values() for link in mine]

    def apply_all(order: list[LinkInput]) -> tuple[dict[str, tuple[str, int]], list[object]]:
        # The reader's own apply: read in ``order``, applied in one catch-up.
        from collections import defaultdict

        from streams.identity.linkreader import LinkReader

        reader = LinkReader.__new__(LinkReader)  # no consumer: only what it applies
        reader.links, reader._read, reader.applied = LinkMap(_det), list(order), defaultdict(list)  # noqa: SLF001
        outcomes = reader.apply()
        assert [o.link for o in outcomes] == sorted(order, key=link_order)
        return reader.links.entries, [(o.link.event_id, o.refused, o.merges) for o in outcomes]

    shuffled = list(arrived)
    rng.shuffle(shuffled)
    assert apply_all(shuffled) == apply_all(arrived)


def test_the_reader_keeps_outcomes_only_from_each_partitions_committed_offset() -> None:
    from streams.identity.linkmap import LinkOutcome
    from streams.identity.linkreader import LinkReader

    reader = LinkReader.__new__(LinkReader)  # no consumer: only the kept outcomes
    reader.applied = {
        0: [LinkOutcome(_link(PRODUCT, EMAIL, 1, offset=o)) for o in range(5)],
        1: [LinkOutcome(_link(PRODUCT, GITHUB, 1, partition=1, offset=o)) for o in range(3)],
    }
    reader.prune({0: 3, 1: 0})
    assert [o.link.offset for o in reader.applied[0]] == [3, 4]
    assert [o.link.offset for o in reader.applied[1]] == [0, 1, 2]


def test_the_reader_asks_with_a_new_admin_client_after_a_failed_request() -> None:
    # After a broker restart librdkafka's admin client went on sending the leader epochs it
    # had cached and got FENCED_LEADER_EPOCH on every retry: the stage never caught up.
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    from streams.identity.linkreader import LinkReader

    class Fenced:
        def list_offsets(self, *_args: object, **_kwargs: object) -> dict[object, object]:
            raise KafkaException(KafkaError(KafkaError.FENCED_LEADER_EPOCH))

    reader = LinkReader.__new__(LinkReader)  # no consumer: the request fails before any read
    reader.topic, reader.partitions, reader._started = "identity-links", 2, True  # noqa: SLF001
    reader._admin_config = {"bootstrap.servers": "127.0.0.1:9"}  # noqa: SLF001
    reader.admin = Fenced()  # type: ignore[assignment]
    assert reader.catch_up() is None
    assert isinstance(reader.admin, AdminClient)
