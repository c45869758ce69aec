"""GraphQL for triggers: types, inputs, queries and mutations (triggers:admin)."""
