#!/usr/bin/env bash
# Create .venv and install the pinned dependencies; compile translations.
#   scripts/setup.sh        runtime only
#   scripts/setup.sh dev    runtime + test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.installed-$(cat requirements.lock ${1:+requirements-dev.lock} | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.lock ${1:+-r requirements-dev.lock}
  touch "$stamp"
fi
if command -v msgfmt >/dev/null; then
  for po in locale/*/LC_MESSAGES/django.po; do msgfmt --check-format -o "${po%.po}.mo" "$po"; done
else
  echo "note: gettext (msgfmt) not installed; the UI shows its Russian source texts only" >&2
fi
