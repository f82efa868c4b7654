"""``orbitstream collect``: serve the HTTP collector on uvicorn; ``collect hash-key`` for settings."""

from __future__ import annotations

import click

from foundation.settings import Settings


@click.group("collect", invoke_without_command=True)
@click.option("--host", default=None, help="Listen address (default: collector.host).")
@click.option("--port", type=int, default=None, help="Listen port (default: collector.port).")
@click.option("--log-level", default="info", show_default=True)
@click.pass_context
def collect(ctx: click.Context, host: str | None, port: int | None, log_level: str) -> None:
    """Run the collector: POST /v1/events, /webhooks/github, /webhooks/discourse (docs/collector.md)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from producers.collector.app import create_app

    settings: Settings = ctx.obj
    c = settings.collector
    if not c.api_keys and c.github_secret is None and c.discourse_secret is None:
        click.echo("warning: no API key nor webhook secret configured: every POST will be refused", err=True)
    uvicorn.run(create_app(settings), host=host or c.host, port=port or c.port, log_level=log_level)


@collect.command("hash-key")
@click.option("--key", prompt=True, hide_input=True, help="The API key (prompted for if not given).")
def hash_key_cmd(key: str) -> None:
    """Print the sha256 digest to configure for an API key (ORBITSTREAM_COLLECTOR__API_KEYS)."""
    from producers.collector.auth import hash_key

    click.echo(hash_key(key))
