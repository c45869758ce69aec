"""Smart lists: select persons by what they did and who they are (issue 13)."""
