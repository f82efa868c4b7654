"""The project's base error: every package's exceptions derive from it."""


class OrbitstreamError(Exception):
    """Base of all errors orbitstream raises on purpose."""


class ServiceStartError(OrbitstreamError):
    """A local service (Kafka broker, embedded warehouse) did not come up."""
