"""For ``faust -A streams.worker worker``: the app built from the environment's settings.

This module is an entry point, so reading settings at import is its job; library code
builds apps with :func:`streams.app.create_app` instead.
"""

from infra.settings import load_settings
from streams import placement
from streams.app import create_app

# Held for the life of the process: it is this worker's lock on its directory and port.
_loaded = load_settings()
claimed = placement.claim(_loaded)
app = create_app(claimed.apply(_loaded))
