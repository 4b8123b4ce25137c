#!/usr/bin/env python3
"""Checks one published kenpo run folder: the manifest reconciles and describes the files exactly.
usage: check-outputs.py RUN_DIR EXPECTED_MEMBERS EXPECTED_REJECTS (-1 = any)"""
import csv, hashlib, json, os, stat, sys

run, want_members, want_rejects = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
m = json.load(open(os.path.join(run, "manifest.json")))
problems = []
for i in m["inputs"]:
    r = i["records"]
    if r["read"] != r["accepted"] + r["rejected"]:
        problems.append(f"{i['path']}: read {r['read']} != accepted {r['accepted']} + rejected {r['rejected']}")
for o in m["outputs"]:
    p = os.path.join(run, o["path"])
    data = open(p, "rb").read()
    if hashlib.sha256(data).hexdigest() != o["sha256"]:
        problems.append(f"{o['path']}: SHA-256 differs from the manifest")
    if stat.S_IMODE(os.stat(p).st_mode) & 0o077:
        problems.append(f"{o['path']}: readable by others")
rows = {o["path"]: o["rows"] for o in m["outputs"]}
with open(os.path.join(run, "members.csv"), encoding="utf-8", newline="") as f:
    n = sum(1 for _ in csv.reader(f)) - 1
if n != rows["members.csv"]:
    problems.append(f"members.csv has {n} rows, manifest says {rows['members.csv']}")
if want_members >= 0 and n != want_members:
    problems.append(f"members.csv has {n} rows, expected {want_members}")
with open(os.path.join(run, "rejects.csv"), encoding="utf-8", newline="") as f:
    rj = sum(1 for _ in csv.reader(f)) - 1
if rj != sum(i["records"]["rejected"] for i in m["inputs"]):
    problems.append("rejects.csv does not hold every rejected record")
if want_rejects >= 0 and rj != want_rejects:
    problems.append(f"rejects.csv has {rj} rows, expected {want_rejects}")
for p in problems:
    print("CI check:", p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"ok: {run}: {n} members, {rj} rejects, {len(m['inputs'])} inputs reconcile")
