"""GraphQL API: Strawberry schema on Starlette, built from domain objects, never ORM rows."""
