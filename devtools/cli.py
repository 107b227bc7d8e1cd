"""`zest`: the local development command.

    zest dev [--host 127.0.0.1] [--port 8000] [--no-seed]   every function on one port
    zest seed                                                the demo catalog, users, vendors
    zest <django command> ...                                migrate, createsuperuser, shell, help

Local defaults are put into the environment before Django is imported, and only where the
developer has not set the variable: settings are read once, from the environment, at start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devtools.demo_keys import DemoKeys
    from devtools.oauth_provider import OAuthProviderServer
    from lib.conf import Config

DEV_DEFAULTS = {"ZEST_DEBUG": "1", "CRON_SECRET": "local-cron-secret"}
OWN_COMMANDS = """\
Zest Store commands:
  zest dev [--host HOST] [--port PORT] [--no-seed]   serve every function of vercel.json locally
  zest seed                                          create the demo data (safe to re-run)
  zest analytics-backfill [--from DAY] [--to DAY]    rebuild the daily sales rollups
Django's commands (migrate, createsuperuser, makemigrations, shell, ...) run as `zest <command>`.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except KeyboardInterrupt:  # before the server is up (migrations, seeding)
        print("\nInterrupted.")
        return 130


def run(args: list[str]) -> int:
    command = args[0] if args else ""
    if command == "dev":
        return dev(args[1:])
    if command == "seed":
        return seed()
    if command == "analytics-backfill":
        return analytics_backfill(args[1:])
    if command in ("", "-h", "--help") or args == ["help"]:
        print(OWN_COMMANDS)
        if command == "":
            return 0
    return django_command(args or ["help"])


def setup_django() -> Config:
    """Configure Django (settings read the environment now) and create the local data dir,
    where the default SQLite database and media files live."""
    import lib.runtime  # noqa: F401

    from lib.conf import config

    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.media_root.mkdir(parents=True, exist_ok=True)
    return config


def django_command(args: list[str]) -> int:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["zest", *args])
    return 0


def seed() -> int:
    setup_django()
    from devtools.seed import seed_demo_data

    result = seed_demo_data(stdout=print)
    print(result.summary())
    return 0


def analytics_backfill(args: list[str]) -> int:
    from datetime import date

    parser = argparse.ArgumentParser(
        prog="zest analytics-backfill",
        description="Recompute the daily sales rollups (Asia/Dhaka days); safe to re-run.",
    )
    parser.add_argument(
        "--from", dest="first", type=date.fromisoformat, help="default: first order"
    )
    parser.add_argument("--to", dest="last", type=date.fromisoformat, help="default: today")
    options = parser.parse_args(args)
    setup_django()
    from lib.analytics.rollups import backfill_range, rollups_backfill

    first, last = backfill_range(options.first, options.last)
    if last < first:
        print(f"--to ({last}) is before --from ({first}).", file=sys.stderr)
        return 2
    print(f"Rebuilding the sales rollups of {first}..{last} (Asia/Dhaka days)")
    totals = rollups_backfill(first, last, progress=print)
    print(
        f"Done: {totals['days']} days, {totals['sales_rows']} sales rows, "
        f"{totals['product_rows']} product rows."
    )
    return 0


def dev(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="zest dev", description="Serve every function locally.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-seed", action="store_true", help="do not create the demo data")
    options = parser.parse_args(args)
    for name, value in DEV_DEFAULTS.items():
        if not os.environ.get(name):
            os.environ[name] = value
    os.environ.setdefault("PAYMENT_PUBLIC_BASE_URL", f"http://{options.host}:{options.port}")
    from devtools.courier_sims.local import courier_simulators_start
    from devtools.llm_sim import llm_simulator_start
    from devtools.oauth_provider import local_oauth_provider_start
    from devtools.payment_sims.local import payment_simulators_start
    from devtools.push_sim import start_push_simulator
    from devtools.sms_sims.local import sms_simulator_start

    simulator_env, simulators = payment_simulators_start()
    sms_env, sms_simulator = sms_simulator_start()
    os.environ.update(sms_env)
    llm_env, llm_simulator = llm_simulator_start()
    os.environ.update(llm_env)
    courier_env, couriers = courier_simulators_start(f"http://{options.host}:{options.port}")
    os.environ.update(courier_env)
    oauth_env, oauth_provider = local_oauth_provider_start()
    push_service = start_push_simulator()
    # Everything the dev server puts into the environment is there before the settings are
    # first used (lib.conf reads them then, once).
    os.environ.update(simulator_env)
    os.environ.update(oauth_env)

    config = setup_django()
    migrate()
    users = ()
    if not options.no_seed:
        from devtools.seed import DEMO_USERS, seed_demo_data

        result = seed_demo_data(stdout=lambda line: None)
        print(f"Demo data: {result.summary()}")
        users = DEMO_USERS
    start_services()
    recommendations_ensure()

    from devtools.devserver import serve

    try:
        server = serve(options.host, options.port)
    except OSError as exc:
        print(f"Cannot listen on {options.host}:{options.port}: {exc.strerror or exc}")
        return 1
    from devtools.demo_keys import demo_keys_ensure

    keys = demo_keys_ensure(data_dir=config.data_dir, dev_origin=server.url)
    print(banner(server.url, config.cron_secret, users, keys))
    if simulators:
        print("Payment simulators (pay, fail or cancel on their pages):")
        for name, simulator in simulators.items():
            print(f"  {name:<11} {simulator.url}")
    if couriers:
        print("Courier simulators (move parcels on their pages; webhooks come to this server):")
        for name, simulator in couriers.items():
            print(f"  {name:<11} {simulator.url}/")
    if sms_simulator is not None:
        print(f"SMS simulator inbox (codes and order SMS, also printed here): {sms_simulator.url}/")
    else:
        print(f"SMS: SMS_BACKEND={os.environ['SMS_BACKEND']}")
    if llm_simulator is not None:
        print(f"Chatbot model simulator (OpenAI-compatible): {llm_simulator.url}/v1")
    print(
        f"Web push service stand-in: POST {push_service.url}/__sim/subscriptions gives an "
        f"endpoint to subscribe with; GET {push_service.url}/__sim/messages shows what was sent"
    )
    if oauth_provider is not None:
        print(oauth_banner(server.url, oauth_provider, keys))
    print("\nPress Ctrl-C to stop.", flush=True)
    stop_requested = threading.Event()

    def stop(signum: int, frame: object) -> None:
        if not stop_requested.is_set():
            stop_requested.set()
            print(f"\n{signal.Signals(signum).name}: stopping the dev server...", flush=True)
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    print(f"Stopped. Local data is kept in {config.data_dir}.", flush=True)
    return 0


def migrate() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    settings = connection.settings_dict
    where = settings["NAME"] if connection.vendor == "sqlite" else settings.get("HOST") or "local"
    print(f"Database: {connection.vendor} {where} ...", end=" ", flush=True)
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", interactive=False, verbosity=0)
    print(f"applied {len(pending)} migrations" if pending else "up to date", flush=True)


def start_services() -> None:
    """Start the embedded stand-ins now, so the first request does not pay for them."""
    from lib.conf import config
    from lib.documents import mongo_ping
    from lib.kv import kv_ping

    kv_ping()
    mongo_ping()
    kv = "Upstash REST" if config.upstash_url else "local Upstash bridge"
    kv_store = "Redis at REDIS_URL" if config.redis_url else "in-memory store"
    kv += "" if config.upstash_url else f" over {kv_store}"
    documents = "MongoDB at MONGODB_URI" if config.mongodb_uri else "embedded in-memory store"
    files = "Vercel Blob" if config.blob_token else f"local files in {config.media_root}"
    print(f"Services: kv={kv}; documents={documents}; files={files}", flush=True)


def banner(
    url: str, cron_secret: str, users: Sequence[tuple[str, str, str]], keys: DemoKeys
) -> str:
    from devtools.seed import DEMO_PASSWORD
    from devtools.vercel_routing import VERCEL_JSON

    crons = json.loads(VERCEL_JSON.read_text(encoding="utf-8")).get("crons", [])
    lines = [
        "",
        f"Zest Store is running at {url}",
        f"  API base   {url}/api/v1/",
        f"  Docs       {url}/api/v1/docs",
        f"  OpenAPI    {url}/api/v1/openapi.json",
        f"  Admin      {url}/admin/",
        f"  Health     {url}/api/health",
        f"  Cron       Authorization: Bearer {cron_secret}",
        *(f"             GET {url}{cron['path']}  ({cron['schedule']})" for cron in crons),
    ]
    lines += [
        "",
        "API keys (every /api/v1 call sends X-API-Key; enter them under Authorize in the docs):",
        f"  storefront (publishable)  X-API-Key: {keys.storefront_key}",
        f"  server (secret)           X-API-Key: {keys.server_key}",
        f"                            X-API-Secret: {keys.server_secret}",
        f"  try: curl -H 'X-API-Key: {keys.storefront_key}' {url}/api/v1/products",
    ]
    if users:
        lines += ["", f"Demo sign-ins (password {DEMO_PASSWORD}):"]
        for email, role, name in users:
            superuser = ", superuser" if role == "admin" else ""
            lines.append(f"  {email:<24} {role:<13} {name}{superuser}")
    return "\n".join(lines)


def oauth_banner(url: str, provider: OAuthProviderServer, keys: DemoKeys) -> str:
    issue = f"curl -s -X POST {provider.url}/_issue"
    claims = '{"email": "you@example.com", "email_verified": true, "name": "You"}'
    sign_in = (
        f"curl -s -X POST {url}/api/v1/auth/oauth/google -H 'X-API-Key: {keys.storefront_key}'"
        " -H 'Content-Type: application/json' -d '{\"token\": \"<id_token>\"}'"
    )
    return "\n".join(
        [
            f"Sign-in providers (Google, Apple, Facebook stand-in): {provider.url}",
            "  1. a Google ID token (Apple: /_issue/apple; Facebook: /_issue/facebook gives an"
            " access_token):",
            f"     {issue}/google -d '{claims}'",
            "  2. sign in with it (the answer holds the access and refresh tokens):",
            f"     {sign_in}",
        ]
    )


def recommendations_ensure() -> None:
    """Compute the recommendations once when none are served yet (a first run, or the
    embedded in-memory KV store after a restart), so the storefront's lists are not empty
    until the nightly cron job."""
    from lib.kv import get_kv
    from lib.recommendations.services import recommendations_refresh
    from lib.recommendations.store import VERSION_KEY

    if get_kv().get(VERSION_KEY):
        return
    print("Recommendations: computing the first lists (the cron job refreshes them) ...")
    result = recommendations_refresh()
    print(
        f"Recommendations: {result['products']} products, {result['with_similar']} with similar"
        f" items, {result['with_bought_together']} bought together,"
        f" in {result['seconds']['total']} s",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
