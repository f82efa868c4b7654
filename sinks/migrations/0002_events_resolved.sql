-- events_resolved: events_final with each event's user re-resolved to its identity's
-- current user (docs/analyses.md, "Users").
--
-- An event whose identity was not linked yet keeps that identity's deterministic id
-- (docs/identity.md, "Events before their link"): a community member who joins with a
-- GitHub account before connecting it to the product account has a MemberJoined under
-- another user. Events after the link carry the person's id, so an identity's current user
-- is the canonical_id of its latest event; events of identities with no provider keep
-- theirs. An identity never seen again after its link keeps the old id.
CREATE VIEW IF NOT EXISTS events_resolved AS
SELECT e.* REPLACE (if(c.canonical_id = '', e.canonical_id, c.canonical_id) AS canonical_id)
FROM events_final AS e
LEFT JOIN (
    SELECT provider, external_id, argMax(canonical_id, (occurred_at, event_id)) AS canonical_id
    FROM events_final
    WHERE provider != '' AND external_id != ''
    GROUP BY provider, external_id
) AS c ON c.provider = e.provider AND c.external_id = e.external_id
SETTINGS join_use_nulls = 0;
