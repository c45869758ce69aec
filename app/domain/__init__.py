"""Pure domain: activity-type specs, field types, the validator compiler, error codes. No I/O."""
