"""Compiled read queries: plans that answer validated query documents without per-field GraphQL execution."""
