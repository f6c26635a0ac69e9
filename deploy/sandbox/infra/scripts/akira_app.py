#!/usr/bin/env python3
"""A small stand-in for an Akira service that holds a PostgreSQL session, as the backend does.

    akira_app.py start SERVICE_DIR   (re)start: stop the running app, start a new one that logs
                                     in with SERVICE_DIR/pgpass, wait until it is connected
    akira_app.py stop SERVICE_DIR

The app keeps one psql session open (application_name akira-<service>) and runs `select 1`
every few seconds; SERVICE_DIR/app.status says whether it is connected. The credential is read
from the pgpass file, never from argv. A redeploy restarts it, so its session then uses the
password deployed last: that is what rotabot's wait_drain step waits for.
"""
import json
import os
import signal
import subprocess
import sys
import time


def paths(service_dir):
    return os.path.join(service_dir, "app.pid"), os.path.join(service_dir, "app.status"), os.path.join(service_dir, "app.log")


def stop(service_dir):
    pid_file, _, _ = paths(service_dir)
    try:
        with open(pid_file, encoding="utf-8") as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        pass


def write_status(status_file, status):
    with open(status_file + ".tmp", "w", encoding="utf-8") as f:
        json.dump(status, f)
    os.replace(status_file + ".tmp", status_file)


def run(service_dir):
    _, status_file, log_file = paths(service_dir)
    name = os.path.basename(os.path.normpath(service_dir))
    with open(os.path.join(service_dir, "pgpass"), encoding="utf-8") as f:
        host, port, database, user = f.read().strip().split(":")[:4]
    env = dict(os.environ, PGPASSFILE=os.path.join(service_dir, "pgpass"), PGAPPNAME=f"akira-{name}")
    psql = None

    def shutdown(*_):
        if psql and psql.poll() is None:
            psql.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    while True:
        with open(log_file, "ab") as log:
            psql = subprocess.Popen(["psql", "-h", host, "-p", port, "-U", user, "-d", database, "-w", "-q", "-At"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log, env=env)
        time.sleep(1.5)
        if psql.poll() is None:
            write_status(status_file, {"connected": True, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": user})
            while psql.poll() is None:
                try:
                    psql.stdin.write(b"select 1;\n")
                    psql.stdin.flush()
                except BrokenPipeError:
                    break
                time.sleep(3)
        with open(log_file, "rb") as log:
            last = (log.read().decode(errors="replace").strip().splitlines() or ["psql exited"])[-1]
        write_status(status_file, {"connected": False, "error": last})
        time.sleep(2)


def start(service_dir):
    stop(service_dir)
    pid_file, status_file, _ = paths(service_dir)
    if os.path.exists(status_file):
        os.remove(status_file)
    if os.fork() == 0:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        with open(pid_file, "w", encoding="utf-8") as f:
            f.write(str(os.getpid()))
        run(service_dir)
        os._exit(0)
    for _ in range(100):
        time.sleep(0.1)
        if os.path.exists(status_file):
            with open(status_file, encoding="utf-8") as f:
                status = json.load(f)
            if status["connected"]:
                print(f"{os.path.basename(os.path.normpath(service_dir))} is up and connected to PostgreSQL as {status['user']}")
                return
            raise SystemExit(f"{service_dir}: cannot connect to PostgreSQL: {status['error']}")
    raise SystemExit(f"{service_dir}: the app did not report within 10 s; see app.log there")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit(__doc__)
    {"start": start, "stop": stop}[sys.argv[1]](sys.argv[2])
