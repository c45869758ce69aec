"""GraphQL for persons: lookup, search, batch upsert and GDPR erasure."""
