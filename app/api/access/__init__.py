"""GraphQL for access control: API keys, the caller's identity and the audit log."""
