"""The HTTP collector: an ingestion producer that takes events and webhooks over HTTP.

``orbitstream collect`` serves :func:`producers.collector.app.create_app` on uvicorn. Every
event it answers as accepted was acknowledged by Kafka through the producer SDK.
"""
