"""The warehouse client every package builds from the settings (sink, analyses, CLI)."""

from __future__ import annotations

from typing import Any

import clickhouse_connect

from foundation.settings import WarehouseSettings


def warehouse_client(warehouse: WarehouseSettings, database: str | None = None) -> Any:
    """A clickhouse-connect client with timeouts fit for a long-running loader."""
    return clickhouse_connect.get_client(
        host=warehouse.host,
        port=warehouse.port,
        username=warehouse.username,
        password=warehouse.password.get_secret_value(),
        database=database or "default",
        secure=warehouse.secure,
        verify=warehouse.verify,
        ca_cert=str(warehouse.ca_cert) if warehouse.ca_cert is not None else None,
        compress=warehouse.compress,
        # No HTTP session: the sink's queries are independent and may overlap.
        autogenerate_session_id=False,
        connect_timeout=5,
        send_receive_timeout=60,
    )
