#!/usr/bin/env python3
"""The work of `rotabot age --json`, done minimally: PyYAML (libyaml when present), the age and
due date of every entry, most urgent first, JSON to stdout. Usage: age-baseline.py MANIFEST AS_OF"""
import calendar
import datetime
import json
import sys

import yaml

POLICY = {"api_token": (6, "month"), "database_password": (12, "month"), "signalwire_pat": (12, "month"),
          "telegram_bot_token": (12, "month")}
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def add(day, count, unit):
    if unit == "day":
        return day + datetime.timedelta(days=count)
    months = day.month - 1 + count * (12 if unit == "year" else 1)
    year, month = day.year + months // 12, months % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def interval(text):
    count, unit = text.split()
    return int(count), unit.rstrip("s")


def main():
    as_of = datetime.date.fromisoformat(sys.argv[2])
    with open(sys.argv[1], encoding="utf-8") as f:
        manifest = yaml.load(f, Loader=Loader)["secrets_manifest"]
    rows = []
    for key, entry in manifest.items():
        last = entry.get("last_rotation")
        last = datetime.date.fromisoformat(str(last)) if last else None
        every = interval(entry["rotate_every"]) if entry.get("rotate_every") else POLICY.get(entry["category"])
        row = {"key": key, "category": entry["category"], "owner": entry.get("owner"),
               "last_rotation": last and last.isoformat(), "age_days": last and (as_of - last).days,
               "policy": every and f"{every[0]} {every[1]}s", "due_on": None, "days_left": None}
        if every is None:
            row["status"] = "no_policy"
        elif last is None:
            row["status"] = "never_rotated"
        else:
            due = add(last, *every)
            left = (due - as_of).days
            row.update(due_on=due.isoformat(), days_left=left,
                       status="overdue" if left < 0 else "due_soon" if left <= 30 else "ok")
        rows.append(row)
    group = {"never_rotated": 0, "overdue": 0, "due_soon": 1, "ok": 2, "no_policy": 3}
    rows.sort(key=lambda r: (group[r["status"]], r["days_left"] if r["days_left"] is not None else
                             (float("-inf") if r["status"] == "never_rotated" else float("inf")), r["key"]))
    json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


main()
