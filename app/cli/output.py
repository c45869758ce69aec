"""Console output for CLI commands (stdout for results, stderr for logs)."""

from __future__ import annotations

from rich.console import Console

console = Console(highlight=False)
