#!/usr/bin/env bash
# Create .venv and install the pinned dependencies; compile translations.
#   scripts/setup.sh        runtime only
#   scripts/setup.sh dev    runtime + test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# PyICU (needed by normality, under followthemoney/rigour: screening) builds from source against
# ICU: libicu-dev, pkg-config and g++. Installed with apt when root, else the exact command is printed.
need_apt=()
if command -v dpkg >/dev/null; then
  dpkg -s libicu-dev >/dev/null 2>&1 || need_apt+=(libicu-dev)
  command -v pkg-config >/dev/null || need_apt+=(pkg-config)
  command -v g++ >/dev/null || need_apt+=(g++)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "missing: ${need_apt[*]}; install them first:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${need_apt[*]}" >&2
    exit 1
  fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.installed-$(cat requirements.lock ${1:+requirements-dev.lock} | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.lock ${1:+-r requirements-dev.lock}
  touch "$stamp"
fi
# Compiled translations are built here, not committed: msgfmt when gettext is
# installed, else polib (pure Python, in the lock file).
for po in locale/*/LC_MESSAGES/django.po; do
  if command -v msgfmt >/dev/null; then
    msgfmt --check-format -o "${po%.po}.mo" "$po"
  else
    .venv/bin/python -c "import polib, sys; polib.pofile(sys.argv[1]).save_as_mofile(sys.argv[2])" "$po" "${po%.po}.mo"
  fi
done
