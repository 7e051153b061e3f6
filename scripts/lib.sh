# Shared helpers for the scripts in this folder. Sourced, not run.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENVS=$ROOT/.venv

# HA version matrix: name, Python minor, requirements file.
# 2026 = current HA 2026.10.4 (Python >=3.14.2); 2025 = minimum HA 2025.4.4 (Python 3.13).
HA_VERSIONS=(ha2026 ha2025)
declare -A HA_PYTHON=([ha2026]=3.14 [ha2025]=3.13)

# The gateway add-on's Python X.Y: its image's base (addon/build.yaml, e.g. base-python:3.13).
addon_python() {
  grep -o 'base-python:[0-9]*\.[0-9]*' "$ROOT/addon/build.yaml" | head -n 1 | cut -d: -f2
}

# Print a usable interpreter for Python X.Y, or nothing. Looks at an explicit variable,
# PATH, pyenv's versions and the path the shared installer uses.
find_python() {
  local minor=$1 var cand
  var="HEATBALANCE_PYTHON${minor/./}"
  local candidates=("${!var:-}" "$(command -v "python$minor" 2>/dev/null || true)")
  for cand in "$HOME"/.pyenv/versions/"$minor".*/bin/python"$minor" \
              /opt/python"$minor"/usr/bin/python"$minor" /usr/bin/python"$minor" \
              /usr/local/bin/python"$minor"; do
    candidates+=("$cand")
  done
  for cand in "${candidates[@]}"; do
    [ -n "$cand" ] && [ -x "$cand" ] || continue
    # pyenv shims exist for versions that are not installed; ask the interpreter itself.
    if "$cand" -c "import sys, ssl, sqlite3, venv; assert sys.version_info[:2] == tuple(map(int, '$minor'.split('.')))" 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  if [ "$minor" = 3.14 ]; then
    local installer="$ROOT/../shared/tools/install-python3.14"
    if [ -x "$installer" ]; then
      "$installer" | tail -n 1; return 0
    fi
  fi
  return 1
}

venv_python() { echo "$VENVS/$1/bin/python"; }
