"""The API's private-internals shortcuts, each on against off, in one interleaved run.

    .venv/bin/python bench/fast_paths.py                  # after bench/api.py has loaded its database
    .venv/bin/python bench/fast_paths.py --slices 4 --seconds 5 --port-base 58514

Starts one gunicorn (2 sync workers, the set-up of bench/api.py, its database `bench_api` and
its token) per configuration: every shortcut on, each shortcut off alone (settings.API_FAST_PATHS,
through API_FAST_PATHS_OFF), and all of them off; ports port-base .. port-base + 6. Then, in
`--slices` passes, for each shortcut and target, wrk against "all on" and against "this one off"
back to back (which one first alternates between passes), so each pair sees the same spell of a
busy machine. Prints, per shortcut and target, the gain of the shortcut (req/s on / req/s off - 1):
of the means over the passes, the median of the pairs' and their range. Results: bench/README_api.md.
"""

import argparse
import os
import signal
import statistics
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ is first on sys.path and bench/api.py would shadow the `api` app.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api import DB_NAME, TOKEN_FILE, _database_url, _deep_cursor, _gunicorn, _wait_up, wrk  # noqa: E402

SHORTCUTS = ("token_lookup", "sql_rows", "cached_querysets", "c_timestamptz_loader")
ALL_OFF = "all off"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=3, help="passes over the pairs")
    parser.add_argument("--seconds", type=int, default=5, help="wrk seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port-base", type=int, default=18_770)
    parser.add_argument("--database", default=DB_NAME)
    parser.add_argument("--deep", action="store_true", help="also a deep cursor page of transfers")
    parser.add_argument("--only", default=",".join(SHORTCUTS), help="the shortcuts to compare (comma-separated)")
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(args.database),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:56379/10"),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "API_THROTTLE_RATE": "100000000/min",  # the throttle's cost, not its refusals
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    key = TOKEN_FILE.read_text().strip()
    deep = urllib.parse.quote(_deep_cursor())
    auth = {"Authorization": f"Token {key}"}
    paths = {
        "stats": "/api/v1/outflows/stats/",
        "transfers, first": "/api/v1/transfers/?page_size=100",
    }
    if args.deep:
        paths["transfers, deep"] = f"/api/v1/transfers/?page_size=100&cursor={deep}"
    only = [name for name in args.only.split(",") if name]
    configs = {"on": "", **{name: name for name in only}, ALL_OFF: ",".join(SHORTCUTS)}
    ports = {name: args.port_base + i for i, name in enumerate(configs)}
    servers = [
        _gunicorn("bench.api:application_factory()", ports[name], {**env, "API_FAST_PATHS_OFF": off})
        for name, off in configs.items()
    ]

    def url(config: str, target: str) -> str:
        return f"http://127.0.0.1:{ports[config]}{paths[target]}"

    gains: dict[tuple[str, str], list[float]] = {}
    pairs: dict[tuple[str, str], tuple[list[float], list[float]]] = {}  # req/s on, req/s off
    try:
        for config in configs:
            for target in paths:
                _wait_up(url(config, target), auth)
                wrk(url(config, target), duration=2, connections=args.connections, headers=auth)  # warm-up
        for n in range(args.slices):
            for config in [*only, ALL_OFF]:
                for target in paths:
                    pair = ("on", config) if n % 2 == 0 else (config, "on")
                    got = {
                        c: wrk(url(c, target), duration=args.seconds, connections=args.connections, headers=auth)
                        for c in pair
                    }
                    for c, result in got.items():
                        if result["non2xx"] or result["socket_errors"]:
                            print(f"  {c} {target}: non-2xx {result['non2xx']} {result['socket_errors']}")
                    gain = got["on"]["rps"] / got[config]["rps"] - 1
                    on_off = pairs.setdefault((config, target), ([], []))
                    on_off[0].append(got["on"]["rps"])
                    on_off[1].append(got[config]["rps"])
                    gains.setdefault((config, target), []).append(gain)
                    print(
                        f"pass {n + 1} {config:22s} {target:17s} on {got['on']['rps']:7.1f}"
                        f"  off {got[config]['rps']:7.1f} req/s  gain {gain:+6.1%}",
                        flush=True,
                    )
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    print("\nshortcut off           target             req/s on  req/s off  on/off-1  median of pairs  pairs")
    for (config, target), values in gains.items():
        on = statistics.fmean(pairs[(config, target)][0])
        off = statistics.fmean(pairs[(config, target)][1])
        print(
            f"{config:22s} {target:17s} {on:9.1f} {off:10.1f} {on / off - 1:+9.1%} {statistics.median(values):+16.1%}"
            f"  {min(values):+.1%} .. {max(values):+.1%}"
        )


if __name__ == "__main__":
    main()
