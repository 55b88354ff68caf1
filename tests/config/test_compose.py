"""docker-compose.yml, checked without a Docker engine: services, builds, commands, environment."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _settings_env_names() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', source))


def test_all_production_services_are_there():
    assert set(SERVICES) == {"postgres", "redis", "web", "worker", "beat"}


def test_images_and_builds():
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


def test_commands():
    assert "gunicorn config.wsgi:application" in " ".join(SERVICES["web"]["command"])
    assert SERVICES["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_redis_keeps_queued_tasks_across_a_crash():
    command = SERVICES["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_postgres_has_a_volume_and_health_checks_everywhere():
    assert any(v.endswith(":/var/lib/postgresql/data") for v in SERVICES["postgres"]["volumes"])
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in SERVICES[name], name


def test_every_environment_variable_is_one_the_settings_read():
    read = _settings_env_names()
    for name in ("web", "worker", "beat"):
        env = SERVICES[name]["environment"]
        assert set(env) <= read, set(env) - read
        assert env["DEBUG"] == "0"
        for required in ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "ALLOWED_HOSTS"):
            assert required in env
