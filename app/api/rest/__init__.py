"""The Marketo-compatible REST facade (docs/marketo-rest.md): the same services as GraphQL, in Marketo's shapes."""
