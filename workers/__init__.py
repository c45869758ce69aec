"""arq workers: thin job adapters over app.services."""
