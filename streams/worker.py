"""For ``faust -A streams.worker worker``: the app built from the environment's settings.

This module is an entry point, so reading settings at import is its job; library code
builds apps with :func:`streams.app.create_app` instead.
"""

from infra.settings import load_settings
from streams.app import create_app

app = create_app(load_settings())
