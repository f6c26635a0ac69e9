#!/usr/bin/env python3
"""Akira's health check: every service, with the credential it has deployed (not the vault's).

    smoke_check.py --services-root DIR --postgres HOST:PORT --gateway URL --telegram URL
                   --repository URL [--check]

Checks, each as the service itself would: a PostgreSQL login as each database client (its
pgpass), a NATS connection as each NATS client (its nats.env), the notification bot's token
(getMe), a Sentry test event as each service (its DSN; not sent with --check, which writes
nothing), each API client's token through the gateway, and the FreeSWITCH repository with the
credential FreeSWITCH deployed (index and a package). Every check runs; each prints one line;
a failure names the service and the fix, and the exit code is 1.

Credentials are read from the deployed files, never from argv or the environment. One process
for the whole smoke test, so it costs one ansible task, not one per service and check.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

# A health check changes nothing on the host: no __pycache__ beside it (the infra checkout stays clean).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nats_probe  # noqa: E402  (beside this script)

DB_CLIENTS = ["backend", "cdr-worker", "reports"]
NATS_CLIENTS = ["backend", "cdr-worker", "kamailio-cdr-bridge", "tools"]
SENTRY_CLIENTS = ["backend", "cdr-worker", "reports"]
DSN = re.compile(r"SENTRY_DSN=(https?)://([0-9a-f]+)(?::[0-9a-f]+)?@([^/\s]+)(/\S*)?/(\d+)")
PACKAGES = ["dists/bookworm/Release", "pool/main/f/freeswitch/freeswitch_1.10.12_amd64.deb"]


def http_status(url, headers=None, body=None):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def check_postgres(root, host, port):
    for service in DB_CLIENTS:
        result = subprocess.run(
            ["psql", "-h", host, "-p", port, "-U", "akira_app", "-d", "akira", "-w", "-At", "-c",
             "select 'connected as ' || current_user"],
            env={**os.environ, "PGPASSFILE": f"{root}/{service}/pgpass"},
            capture_output=True, text=True, timeout=30,
        )
        if result.returncode != 0:
            yield False, f"PostgreSQL refused {service}'s login: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'no message'}; deploy the current password to {service}."
        else:
            yield True, f"PostgreSQL: {service} {result.stdout.strip()}"


def check_nats(root):
    for service in NATS_CLIENTS:
        env = nats_probe.read_env(f"{root}/{service}/nats.env")
        try:
            nats_probe.Conn(env["NATS_URL"], env["NATS_USER"], env["NATS_PASSWORD"])
            yield True, f"NATS: {service} connected as {env['NATS_USER']}"
        except (OSError, SystemExit) as error:
            yield False, f"NATS refused {service} (user {env.get('NATS_USER', '?')}): {error}; deploy the current password to {service}."


def check_telegram(root, api_root):
    token = re.search(r"TELEGRAM_BOT_TOKEN=(\S+)", read(f"{root}/notifications/bot.env")).group(1)
    status, body = http_status(f"{api_root}/bot{token}/getMe")
    if status == 200 and json.loads(body).get("ok"):
        yield True, f"Telegram: the notification bot is @{json.loads(body)['result'].get('username', '?')}"
    else:
        yield False, f"Telegram refused the notification service's bot token (HTTP {status}): deploy the current token."


def check_sentry(root, check):
    for service in SENTRY_CLIENTS:
        scheme, key, host, prefix, project = DSN.search(read(f"{root}/{service}/sentry.env")).groups()
        if check:
            yield True, f"Sentry: {service}'s test event not sent (--check writes nothing)"
            continue
        status, _ = http_status(
            f"{scheme}://{host}{prefix or ''}/api/{project}/store/",
            {
                "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=akira-deploy/1.0, sentry_key={key}",
                "Content-Type": "application/json",
            },
            json.dumps({"message": f"deploy check from {service}", "level": "info", "platform": "other"}).encode(),
        )
        if status == 200:
            yield True, f"Sentry accepted the test event of {service}"
        else:
            yield False, f"Sentry refused the test event of {service} (HTTP {status}): the deployed DSN is not the project's current one."


def check_api_clients(root, gateway):
    folder = f"{root}/api-clients"
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not name.endswith(".token"):
            continue
        key = name[: -len(".token")]
        token = read(f"{folder}/{name}").strip()
        status, _ = http_status(f"{gateway}/{key}/v1/ping", {"Authorization": f"Bearer {token}"})
        if status == 200:
            yield True, f"API gateway accepts the {key} client's token"
        else:
            yield False, f"the API gateway refuses the token the {key} client holds (HTTP {status}): deploy the current token to both."


def check_repository(root, repository):
    password = re.search(r"password (\S+)", read(f"{root}/freeswitch/auth.conf")).group(1)
    auth = base64.b64encode(f"signalwire:{password}".encode()).decode()
    for item in PACKAGES:
        status, _ = http_status(f"{repository}/{item}", {"Authorization": f"Basic {auth}"})
        if status == 200:
            yield True, f"FreeSWITCH repository: {item} fetched with the deployed credential"
        else:
            yield False, f"the FreeSWITCH repository refused the deployed credential for {item} (HTTP {status}): deploy the current token to FreeSWITCH."


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services-root", required=True)
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--telegram", required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--check", action="store_true", help="send no Sentry test event (ansible --check)")
    parser.add_argument("--send-events", dest="check", action="store_false", help="the default: send them")
    args = parser.parse_args()
    host, port = args.postgres.rsplit(":", 1)
    root = args.services_root
    checks = [
        check_postgres(root, host, port),
        check_nats(root),
        check_telegram(root, args.telegram),
        check_sentry(root, args.check),
        check_api_clients(root, args.gateway),
        check_repository(root, args.repository),
    ]
    failed = 0
    for check in checks:
        try:
            for ok, line in check:
                print(line if ok else f"FAILED: {line}", file=sys.stdout if ok else sys.stderr)
                failed += 0 if ok else 1
        except (OSError, AttributeError, KeyError) as error:
            print(f"FAILED: {error}", file=sys.stderr)
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
