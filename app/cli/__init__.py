"""The `activities` command line."""
