"""Account view of a user: plan, team and account health."""
