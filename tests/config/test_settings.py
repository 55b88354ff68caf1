"""Settings: the embedded default with no environment, and production under docker-compose's environment."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _run(args, env, **kwargs):
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, **kwargs
    )


def _compose_env() -> dict[str, str]:
    """The web service's environment with the ${VAR:?...} placeholders filled as an operator would."""
    env = {}
    for key, value in COMPOSE["services"]["web"]["environment"].items():
        value = str(value)
        value = value.replace("${SECRET_KEY:?set SECRET_KEY}", "k" * 20 + "-production-secret-key-" + "z" * 30)
        value = value.replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "pw")
        value = value.replace("${POSTGRES_APP_PASSWORD:?set POSTGRES_APP_PASSWORD}", "app-pw")
        value = value.replace("${AUDIT_CHECKPOINT_KEY:?set AUDIT_CHECKPOINT_KEY}", "c" * 40)
        value = value.replace("${ALLOWED_HOSTS:-portal.example.by,localhost}", "portal.example.by")
        value = value.replace("${CSRF_TRUSTED_ORIGINS:-https://portal.example.by}", "https://portal.example.by")
        env[key] = value
    return env


def test_embedded_default_needs_no_environment(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3", "True"]


def test_missing_secret_key_stops_start_up_when_debug_is_off():
    result = _run(["check"], {"DEBUG": "0", "ALLOWED_HOSTS": "x"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_check_deploy_with_the_compose_environment():
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], _compose_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_database_url_switches_to_postgresql_with_health_checked_persistent_connections():
    code = (
        "import django; django.setup(); from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['ENGINE'], d['HOST'], d['CONN_MAX_AGE'] > 0, d['CONN_HEALTH_CHECKS'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://u:p@db.internal:5432/portal",
        "CELERY_BROKER_URL": "redis://r:6379/0",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "db.internal", "True", "True", "False"]
