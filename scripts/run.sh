#!/usr/bin/env bash
# The embedded default: venv, pinned install, migrate, demo data (first time), portal on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py generate_demo_data --if-empty
exec .venv/bin/python manage.py runserver 127.0.0.1:8000
