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
    assert {"proxy", "postgres", "redis", "web", "worker", "beat"} <= set(SERVICES)


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


def test_only_the_tls_proxy_is_published_and_the_portal_trusts_only_its_address():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy"}
    assert "443:443" in SERVICES["proxy"]["ports"]
    proxy_ip = SERVICES["proxy"]["networks"]["default"]["ipv4_address"]
    assert SERVICES["web"]["environment"]["TRUSTED_PROXIES"] == proxy_ip
    assert f"--forwarded-allow-ips {proxy_ip}" in " ".join(SERVICES["web"]["command"])
    caddyfile = (ROOT / "config" / "caddy" / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile
    assert "tls " in caddyfile
    assert "./config/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in SERVICES["proxy"]["volumes"]
