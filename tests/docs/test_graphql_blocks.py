"""Every ```graphql block in the docs is a document the current schema accepts (snippets use a plain fence)."""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest

from tests.docs.markdown import code_blocks, pages
from tests.stores import PROJECT_ROOT


@pytest.fixture(scope="module")
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema((PROJECT_ROOT / "schema.graphql").read_text())  # kept fresh by its own test


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_graphql_examples_validate(page: Path, schema: graphql.GraphQLSchema) -> None:
    problems = []
    for block in code_blocks(page.read_text(), "graphql"):
        try:
            errors = graphql.validate(schema, graphql.parse(block))
        except graphql.GraphQLError as error:
            errors = [error]
        problems += [f"{error.message}\n{block}" for error in errors]
    assert not problems, "\n\n".join(problems)
