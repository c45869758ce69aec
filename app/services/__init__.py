"""Use cases: each opens one transaction, calls db and domain, and raises DomainError for expected failures."""
