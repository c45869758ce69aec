# Sourced by scripts/dev, scripts/test and scripts/bench: create .venv and install the locked dependencies, again
# whenever pyproject.toml or requirements-dev.lock changes (see scripts/lock).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ACTIVITIES_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
LOCK="$ROOT/requirements-dev.lock"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required" >&2; exit 1; }
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$LOCK" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "installing dependencies into ${VENV/#$ROOT\//} (first run or new dependencies, ~1 min)..." >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # Exactly the locked versions (hash-checked), then the project itself without resolving anything again.
  "$VENV/bin/python" -m pip install --quiet --require-hashes -r "$LOCK"
  "$VENV/bin/python" -m pip install --quiet --no-deps -e "$ROOT"
  rm -f "$VENV"/.installed-* && touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
