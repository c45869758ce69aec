"""GraphQL and HTTP surface of bulk exports."""
