"""GraphQL surface of the activity-type registry."""
