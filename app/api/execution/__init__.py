"""Fast paths of GraphQL execution (compiled plans, fast executor, parse and validation caches), each switchable."""
