"""Per-data-type check builders used by the validator compiler (app/domain/validation.py)."""
