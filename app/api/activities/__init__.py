"""GraphQL for activities: the Activity type, timeline filters, cross-person search."""
