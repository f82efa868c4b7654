"""Identity: link table, merge guards, resolution of events to canonical ids."""
