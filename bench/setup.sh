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

# Every tool must be on the venv's PATH; print what we got.
for tool in keyscan gitleaks betterleaks kingfisher; do
    if ! command -v "$here/.env/bin/$tool" >/dev/null; then
        echo "setup.sh: $tool is missing from $here/.env/bin" >&2
        exit 1
    fi
done
echo "bench/.env ready:"
"$here/.env/bin/keyscan" --version || true
"$here/.env/bin/gitleaks" version || true
"$here/.env/bin/betterleaks" version 2>/dev/null || "$here/.env/bin/betterleaks" --version || true
"$here/.env/bin/kingfisher" --version || true
