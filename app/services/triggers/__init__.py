"""Triggers: admin use cases, the outbox fan-out, the guarded sender and the delivery loop (docs/triggers.md)."""
