"""The Marketo-compatible REST facade (docs/marketo.md): the same services as GraphQL, in Marketo's shapes."""
