#!/usr/bin/env python3
"""Crash test of the nightly pipeline (`kenpo run`): issue 7, item 6 "Crash proof".

What it does (more in Tests/crash/README.md):

1. Generates data (`kenpo generate --health --faulty 0.02`) and builds a deployment root in a temp
   folder: ROOT/pipelines (a copy of the repository's pipelines/ plus crash.pipeline and the demo
   code key) and ROOT/inbox/... (rosters, mailing lists, health records, reissue requests).
2. Reference: `kenpo run ROOT/pipelines/crash.pipeline --data VAR --date 2026-11-21`, uninterrupted,
   twice on fresh copies; the two are compared to find what legitimately differs between runs
   (run ids, timestamps, random codes and their HMACs), which is then normalised — and printed.
3. Kill points: the crash points a traced reference run reaches (`KENPO_CRASH_TRACE`), killed with
   `KENPO_CRASH_AT=NAME#K` (SIGKILL at the K-th arrival), plus kills from outside at random times.
   After each kill the same command is rerun (no hooks) until it completes (at most 2 reruns), then:
   published datasets equal the reference's; the code ledger and the print files agree (HMAC-SHA256
   of every printed code under the demo key); read = accepted + rejected in every manifest and the
   total read per input equals the reference's; inputs are archived once, none left in the inbox.
4. Disk full: VAR on a small tmpfs (root only): the run must fail with exit 1 naming the path, with
   nothing published; after a remount with room (or an unmount) a rerun completes and equals the
   reference.

python3, standard library only. Exit status 0 when every check passed, 1 otherwise, 2 on bad usage.
"""

import argparse
import collections
import csv
import hashlib
import hmac
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATE = "2026-11-21"
DAY_BEFORE = "2026-11-20"
OPTIONAL_SECTIONS = ["codes", "reissue", "delete", "export", "archive"]
CODE_COLUMN = "閲覧コード"


def say(msg=""):
    print(msg, flush=True)


def die(msg, status=1):
    print(f"crash-test: {msg}", file=sys.stderr, flush=True)
    sys.exit(status)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def files_under(top):
    """Relative paths of the regular files below `top` (symlinks not followed), sorted."""
    out = []
    if not os.path.isdir(top):
        return out
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(os.path.relpath(p, top))
    return sorted(out)


def du_kb(path):
    """Disk use in KiB, hard links counted once (what a tmpfs has to hold)."""
    seen, total = set(), 0
    for d, dirs, files in os.walk(path):
        total += 4
        for f in files:
            st = os.lstat(os.path.join(d, f))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += (st.st_blocks * 512 + 1023) // 1024
    return total


# --------------------------------------------------------------------------------------------------
# Normalisation of what legitimately differs between two runs of the same inputs
# --------------------------------------------------------------------------------------------------

RUN_ID_RE = re.compile(r"\br\d{6}-\d{8}T\d{6}Z[-\w]*")
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)")
GEN_RE = re.compile(r"g\d{6}")


class Normaliser:
    """Rules, each counted when it changes a value so the test can print what it normalised.

    Run ids and timestamps are normalised only in the (file, column) pairs of `allowed`: those found
    to differ between two uninterrupted runs (None: everywhere, to read the two runs in the first
    place). State generation names (gNNNNNN, a whole value) are normalised everywhere; the random
    codes and their HMACs are handled by Outcome (they differ by construction)."""

    def __init__(self, allowed=None):
        self.allowed = allowed
        self.fired = collections.Counter()   # (file, column, rule) -> cells changed

    def value(self, file, column, v):
        out = v
        free = self.allowed is None or (file, column) in self.allowed
        if free and RUN_ID_RE.search(out):
            out = RUN_ID_RE.sub("<run-id>", out)
            self.fired[(file, column, "run id")] += 1
        if free and TIME_RE.search(out):
            out = TIME_RE.sub("<time>", out)
            self.fired[(file, column, "timestamp")] += 1
        if GEN_RE.fullmatch(out):
            out = "<generation>"
            self.fired[(file, column, "state generation name")] += 1
        return out

    def json(self, file, obj, key=""):
        if isinstance(obj, dict):
            return {k: self.json(file, v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.json(file, v, key) for v in obj]
        if isinstance(obj, str):
            return self.value(file, key, obj)
        return obj

    def describe(self):
        lines = []
        for (file, column, rule), n in sorted(self.fired.items()):
            lines.append(f"{file} [{column}]: {rule} ({n} cells)")
        return lines


def decode_text(data):
    """UTF-8 (BOM dropped); CP932 files that are not UTF-8 keep their bytes (surrogateescape): commas,
    quotes and line ends never occur inside a CP932 character, so the CSV structure is intact."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp932")
        except UnicodeDecodeError:
            return data.decode("utf-8", "surrogateescape")


def read_csv(path):
    with open(path, "rb") as f:
        text = decode_text(f.read())
    return list(csv.reader(io.StringIO(text, newline="")))


def load_code_key(path):
    material = ""
    for line in open(path, encoding="utf-8"):
        t = line.strip()
        if not t or t.startswith("#"):
            continue
        material += "".join(t.split())
    if material.startswith("base64:"):
        import base64
        s = material[7:].replace("-", "+").replace("_", "/")
        return base64.b64decode(s + "=" * (-len(s) % 4))
    return bytes.fromhex(material)


def code_hash(key, code):
    """HMAC-SHA256 of the code's 12 compact characters (CodeHasher.hash): hyphens and spaces dropped,
    upper case, full-width folded (NFKC); lower-case hex."""
    import unicodedata
    compact = "".join(c for c in unicodedata.normalize("NFKC", code).upper() if c.isalnum())
    return hmac.new(key, compact.encode("ascii"), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------------------------------
# Reading one finished case: published datasets, manifests, codes, inputs
# --------------------------------------------------------------------------------------------------

class Outcome:
    """What a data folder and deployment root hold after a run completed, normalised for comparison,
    plus the invariant violations found while reading them."""

    def __init__(self, root, var, key, normaliser, features, named_root=None):
        """root, var: where the deployment root and data folder are now; named_root: the root path the
        run's outputs name (the case folder's, when a reference has been moved aside)."""
        self.root, self.var, self.key, self.n = root, var, key, normaliser
        self.named_root = named_root or root
        self.features = features
        self.problems = []
        self.datasets = {}          # "state/x" or "outbox/x" -> normalised content
        self.raw = {}               # same keys -> raw rows (to find what differs between runs)
        self.runs = []
        self.input_reads = collections.Counter()   # (kind, input) -> read, summed over runs
        self.input_sha = {}
        self.postcards = 0
        self.print_files = []
        self.inbox = {}
        self.archive = {}
        self.read()

    # -- published runs and state ------------------------------------------------------------------

    @staticmethod
    def published(var):
        outbox = os.path.join(var, "outbox")
        if not os.path.isdir(outbox):
            return []
        return sorted(n for n in os.listdir(outbox)
                      if re.match(r"r\d{6}-", n) and not os.path.islink(os.path.join(outbox, n))
                      and os.path.isdir(os.path.join(outbox, n)))

    def read_leftovers(self):
        """Everything in the data folder that is not a published run, a state generation or a link to
        one: staging folders, scratch, checkpoints. Run ids normalised."""
        out = set()
        skip = {".lock", "outbox/latest", "state/current"}
        for d, dirs, files in os.walk(self.var):
            rel_d = os.path.relpath(d, self.var)
            for name in sorted(dirs) + sorted(files):
                rel = os.path.normpath(os.path.join(rel_d, name))
                parts = rel.split(os.sep)
                if rel in skip or (parts[0] == "outbox" and len(parts) > 1 and parts[1] in self.runs) \
                        or (parts[0] == "state" and len(parts) > 2 and parts[1] == "generations" and GEN_RE.fullmatch(parts[2])):
                    continue
                out.add(RUN_ID_RE.sub("<run-id>", rel))
        self.leftovers = sorted(out)

    def read(self):
        self.runs = self.published(self.var)
        self.read_leftovers()
        current = os.path.join(self.var, "state", "current")
        latest = os.path.join(self.var, "outbox", "latest")
        if not os.path.isdir(current):
            self.problems.append("state/current is missing")
        if not os.path.isdir(latest):
            self.problems.append("outbox/latest is missing")
        self.ledger = self.read_ledger(os.path.join(current, "access_codes.csv"))
        self.read_print_files()
        for rel in files_under(current):
            self.add_dataset("state/" + rel, os.path.join(current, rel))
        for rel in files_under(latest):
            if rel.endswith((".csv", ".zip")) and not rel.startswith("."):
                self.add_dataset("outbox/" + rel, os.path.join(latest, rel))
        self.read_manifests()
        self.read_inputs()

    def add_dataset(self, name, path):
        base = os.path.basename(name)
        if base.endswith(".json"):
            try:
                obj = json.load(open(path, encoding="utf-8"))
            except ValueError as e:
                self.problems.append(f"{name}: not JSON ({e})")
                return
            self.raw[name] = obj
            self.datasets[name] = self.n.json(base, obj)
            return
        if base.endswith(".zip"):
            # An export: its entries, text entries normalised like every other value.
            import zipfile
            raw, norm = [], []
            with zipfile.ZipFile(path) as z:
                for info in z.infolist():
                    data = z.read(info)
                    raw.append([info.filename, hashlib.sha256(data).hexdigest()])
                    if info.filename.endswith((".xml", ".json", ".csv", ".txt")):
                        data = self.n.value(base, info.filename, data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
                    norm.append([info.filename, hashlib.sha256(data).hexdigest()])
            self.raw[name] = [["entry", "sha256"]] + raw
            self.datasets[name] = [["entry", "sha256"]] + norm
            return
        if not base.endswith(".csv"):
            self.raw[name] = self.datasets[name] = ("bytes", sha256_file(path))
            return
        rows = read_csv(path)
        self.raw[name] = rows
        if not rows:
            self.datasets[name] = rows
            return
        header = rows[0]
        out = [header]
        is_ledger = base == "access_codes.csv"
        is_print = CODE_COLUMN in header
        for row in rows[1:]:
            new = []
            for i, v in enumerate(row):
                col = header[i] if i < len(header) else f"#{i + 1}"
                if is_ledger and col == "code_hash":
                    v = "<hmac>"
                    self.n.fired[(base, col, "random code's HMAC")] += 1
                elif is_print and col == CODE_COLUMN:
                    v = self.code_owner(v)
                    self.n.fired[(base, col, "random code -> its ledger entry's person and status")] += 1
                else:
                    v = self.n.value(base, col, v)
                new.append(v)
            out.append(new)
        self.datasets[name] = out

    # -- codes ---------------------------------------------------------------------------------------

    def read_ledger(self, path):
        if not os.path.exists(path):
            return None
        rows = read_csv(path)
        header = rows[0]
        return [dict(zip(header, r)) for r in rows[1:]]

    def code_owner(self, code):
        h = code_hash(self.key, code)
        for e in self.ledger or []:
            if e["code_hash"] == h:
                return f"<code of {e['person_id']}, now {e['status']}>"
        return "<code in no ledger entry>"

    def read_print_files(self):
        """Every print file (CSV with a 閲覧コード column) of every published run."""
        printed = []   # (run/file, sequence, code)
        outbox = os.path.join(self.var, "outbox")
        for run in self.runs:
            top = os.path.join(outbox, run)
            for rel in files_under(top):
                if not rel.endswith(".csv") or rel.startswith("."):
                    continue
                rows = read_csv(os.path.join(top, rel))
                if not rows or CODE_COLUMN not in rows[0]:
                    continue
                self.print_files.append(f"{run}/{rel}")
                ci = rows[0].index(CODE_COLUMN)
                for r in rows[1:]:
                    printed.append((f"{run}/{rel}", r[0], r[ci]))
        self.postcards = len(printed)
        if self.ledger is None:
            if printed:
                self.problems.append(f"{len(printed)} postcards printed but state/current has no access_codes.csv")
            return
        by_hash = {}
        active_by_person = collections.defaultdict(list)
        for e in self.ledger:
            if e["code_hash"] in by_hash:
                self.problems.append(f"access_codes.csv: hash {e['code_hash'][:12]}… appears twice in the ledger")
            by_hash[e["code_hash"]] = e
            if e["status"] == "active":
                active_by_person[e["person_id"]].append(e)
            elif e["status"] not in ("superseded", "revoked"):
                self.problems.append(f"access_codes.csv: person {e['person_id']} has an entry with status '{e['status']}'")
        for pid, es in active_by_person.items():
            if len(es) > 1:
                self.problems.append(f"codes: person {pid} has {len(es)} active codes in access_codes.csv")
        seen = {}
        printed_hashes = set()
        for where, seq, code in printed:
            h = code_hash(self.key, code)
            if h in seen:
                self.problems.append(f"codes: a code is printed twice: {seen[h]} and {where} seq {seq}")
            seen[h] = f"{where} seq {seq}"
            printed_hashes.add(h)
            if h not in by_hash:
                self.problems.append(f"codes: the code on postcard {where} seq {seq} verifies against no ledger entry "
                                     f"(HMAC-SHA256 under the demo key is in no row of access_codes.csv)")
        lost = [e for e in self.ledger if e["status"] == "active" and e["code_hash"] not in printed_hashes]
        if lost:
            self.problems.append(f"codes: {len(lost)} active codes have no postcard in any published print file "
                                 f"(e.g. person {lost[0]['person_id']}, batch {lost[0]['batch_id'][:12]}…)")
        unprinted = [e for e in self.ledger if e["code_hash"] not in printed_hashes]
        if len(unprinted) > len(lost):
            self.problems.append(f"codes: {len(unprinted) - len(lost)} superseded/revoked ledger entries were never on a "
                                 f"published postcard")

    # -- manifests -----------------------------------------------------------------------------------

    def input_key(self, path):
        """An input's path as the inbox names it, wherever it is now (inbox or dated archive)."""
        p = os.path.normpath(path)
        root = os.path.normpath(self.named_root)
        if p.startswith(os.path.normpath(self.root) + os.sep):
            root = os.path.normpath(self.root)
        if p.startswith(root + os.sep):
            p = p[len(root) + 1:]
        parts = p.split(os.sep)
        if parts[0] == "archive":
            parts = parts[1:]
            if parts and parts[0] == DATE:
                parts = parts[1:]
            if parts and RUN_ID_RE.fullmatch(parts[0]):      # archive/<date>/<run id>/<path>
                parts = parts[1:]
        if parts and parts[0] == "inbox":
            parts = parts[1:]
        return "/".join(parts)

    def read_manifests(self):
        for run in self.runs:
            path = os.path.join(self.var, "outbox", run, "manifest.json")
            try:
                m = json.load(open(path, encoding="utf-8"))
            except (OSError, ValueError) as e:
                self.problems.append(f"{run}/manifest.json cannot be read: {e}")
                continue
            for i in m.get("inputs", []):
                r = i.get("records", {})
                read, acc, rej = r.get("read", 0), r.get("accepted", 0), r.get("rejected", 0)
                key = (i.get("kind", "?"), self.input_key(i["path"]))
                if read != acc + rej:
                    self.problems.append(f"{run}/manifest.json: {key[0]} input {key[1]}: read {read} != accepted {acc} "
                                         f"+ rejected {rej}")
                self.input_reads[key] += read
                if key in self.input_sha and self.input_sha[key] != i.get("sha256"):
                    self.problems.append(f"manifests: {key[0]} input {key[1]} has two different SHA-256s")
                self.input_sha[key] = i.get("sha256")

    # -- inputs: inbox and archive -------------------------------------------------------------------

    def read_inputs(self):
        inbox = os.path.join(self.root, "inbox")
        for rel in files_under(inbox):
            self.inbox[rel] = sha256_file(os.path.join(inbox, rel))
        archive = os.path.join(self.root, "archive")
        for rel in files_under(archive):
            key = self.input_key(os.path.join(archive, rel))
            if not rel.startswith(DATE + os.sep):
                self.problems.append(f"archive: {rel} is not under archive/{DATE}/")
            if key in self.archive:
                self.problems.append(f"archive: {key} is archived twice")
            self.archive[key] = sha256_file(os.path.join(archive, rel))

    def tombstoned(self, key, template_inputs):
        """Whether the template input `key` is a document a deletion in this run tombstoned."""
        if "archive" not in self.features:
            return False
        path = os.path.join(self.var, "state", "current", "deletion_tombstones.csv")
        try:
            with open(path, encoding="utf-8", newline="") as f:
                shas = {row["document_sha256"] for row in csv.DictReader(f)}
        except OSError:
            return False
        return template_inputs[key] in shas

    def check_inputs(self, template_inputs):
        """Every input exactly once: in the dated archive when archiving is on (none left in the inbox),
        else untouched in the inbox."""
        both = sorted(set(self.inbox) & set(self.archive))
        if both:
            self.problems.append(f"inputs: {len(both)} inputs are both in the inbox and in the archive, e.g. {both[0]}")
        if "archive" in self.features:
            if self.inbox:
                left = sorted(self.inbox)
                self.problems.append(f"inputs: {len(left)} inputs left in the inbox after the run completed, e.g. {left[0]}")
            where = dict(self.archive)
            for k, v in self.inbox.items():
                where.setdefault(k, v)
        else:
            where = self.inbox
        missing = sorted(set(template_inputs) - set(where))
        # A deletion removes the deleted member's own archived documents (Mynaportal pulls, uploads):
        # those are gone on purpose, and the state's tombstones name them by document SHA-256.
        missing = [k for k in missing if not self.tombstoned(k, template_inputs)]
        if missing:
            self.problems.append(f"inputs: {len(missing)} inputs are gone (neither in the inbox nor in archive/{DATE}), "
                                 f"e.g. {missing[0]}")
        extra = sorted(set(where) - set(template_inputs))
        if extra:
            self.problems.append(f"inputs: unexpected files {extra[:3]}")
        changed = sorted(k for k in set(where) & set(template_inputs) if where[k] != template_inputs[k])
        if changed:
            self.problems.append(f"inputs: {len(changed)} inputs changed content, e.g. {changed[0]}")


def compare(ref, got):
    """Differences between two outcomes' published datasets, postcards and input accounting."""
    diffs = []
    for name in sorted(set(ref.datasets) | set(got.datasets)):
        if name not in got.datasets:
            diffs.append(f"{name}: missing (the reference has it)")
            continue
        if name not in ref.datasets:
            diffs.append(f"{name}: not in the reference")
            continue
        a, b = ref.datasets[name], got.datasets[name]
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list) and a and b and isinstance(a[0], list):
            if a[0] != b[0]:
                diffs.append(f"{name}: header differs")
                continue
            detail = f"{len(b) - 1} rows, reference {len(a) - 1}"
            for i in range(1, max(len(a), len(b))):
                ra = a[i] if i < len(a) else None
                rb = b[i] if i < len(b) else None
                if ra != rb:
                    if ra is not None and rb is not None and len(ra) == len(rb):
                        cols = [a[0][j] if j < len(a[0]) else str(j) for j in range(len(ra)) if ra[j] != rb[j]]
                        detail += f"; first difference at row {i}, columns {cols}: {[rb[a[0].index(c)] for c in cols if c in a[0]][:3]} " \
                                  f"vs reference {[ra[a[0].index(c)] for c in cols if c in a[0]][:3]}"
                    else:
                        detail += f"; first difference at row {i}: {rb} vs reference {ra}"
                    break
            diffs.append(f"{name}: differs from the reference ({detail})")
        else:
            diffs.append(f"{name}: differs from the reference")
    extra = sorted(set(got.leftovers) - set(ref.leftovers))
    if extra:
        diffs.append(f"left behind in the data folder: {', '.join(extra[:5])}" + (" …" if len(extra) > 5 else ""))
    if got.postcards != ref.postcards:
        diffs.append(f"codes: {got.postcards} postcards in published print files, reference {ref.postcards}")
    for key in sorted(set(ref.input_reads) | set(got.input_reads)):
        a, b = ref.input_reads.get(key, 0), got.input_reads.get(key, 0)
        if a != b:
            what = "counted twice" if b > a and a and b % a == 0 else ("lost" if b == 0 else "miscounted")
            diffs.append(f"manifests: {key[0]} input {key[1]}: read {b} over {len(got.runs)} published run(s), "
                         f"reference {a} ({what})")
    return diffs


# --------------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------------

class CrashTest:
    def __init__(self, args):
        self.args = args
        self.kenpo = args.kenpo
        self.work = tempfile.mkdtemp(prefix="kenpo-crash-")
        self.case = os.path.join(self.work, "case")          # every run uses the same paths: outputs name them
        self.root = os.path.join(self.case, "root")
        self.var = os.path.join(self.case, "var")
        self.template = os.path.join(self.work, "template")
        self.rng = random.Random(args.seed)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KENPO_")}
        self.env["TERM"] = "dumb"
        self.features = []       # optional sections this kenpo accepts
        self.missing = []        # optional sections it does not (yet)
        self.results = []        # (label, ok)
        self.failures = []
        self.notes = []
        self.doubts = []
        self.disk_full_lines = []
        self.mounted = None

    # -- setup ---------------------------------------------------------------------------------------

    def generate(self):
        gen = os.path.join(self.work, "gen")
        cmd = [self.kenpo, "generate", "--members", str(self.args.members), "--seed", str(self.args.seed),
               "--out", gen, "--health", "--faulty", "0.02", "--date", DATE]
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, cwd=REPO)   # profiles: pipelines/profiles
        if p.returncode != 0:
            die(f"kenpo generate failed ({p.returncode}): {p.stderr.strip()}")
        return gen

    def build_template(self, gen):
        """ROOT/pipelines (the repository's, the demo key) and ROOT/inbox: rosters and mailing lists per
        profile, health records (the last profile's notices and prescriptions as Mynaportal pulls, so a
        deletion has something to remove), reissue, deletion and export requests."""
        t = self.template
        shutil.copytree(os.path.join(REPO, "pipelines"), os.path.join(t, "pipelines"))
        shutil.copy(os.path.join(REPO, "samples", "keys", "demo-code-key"), os.path.join(t, "pipelines", "demo-code-key"))
        self.profiles = []
        for name in sorted(os.listdir(gen)):
            if os.path.isfile(os.path.join(gen, name, "roster.csv")):
                self.profiles.append((name, name[len("sample-"):] if name.startswith("sample-") else name))
        if not self.profiles:
            die("kenpo generate wrote no profile folder with a roster.csv")
        for i, (name, short) in enumerate(self.profiles):
            src = os.path.join(gen, name)
            for sub, f in [("eligibility", "roster.csv"), ("mailing", "mailing.csv")]:
                os.makedirs(os.path.join(t, "inbox", sub, short))
                if os.path.exists(os.path.join(src, f)):
                    shutil.copy(os.path.join(src, f), os.path.join(t, "inbox", sub, short))
            for sub in ["checkups", "transfer", "notices", "prescriptions"]:
                if os.path.isdir(os.path.join(src, sub)):
                    mynaportal = i == len(self.profiles) - 1 and sub in ("notices", "prescriptions")
                    dest = os.path.join(t, "inbox", "health", "mynaportal", short, sub) if mynaportal \
                        else os.path.join(t, "inbox", "health", short, sub)
                    shutil.copytree(os.path.join(src, sub), dest)
        self.import_folders = [f"inbox/health/{short}" for _, short in self.profiles] + ["inbox/health/mynaportal"]
        for sub in ["reissue", "requests/delete", "requests/export"]:
            os.makedirs(os.path.join(t, "inbox", sub))
        self.make_requests(os.path.join(gen, "reissue", "requests.csv"))
        self.template_inputs = {rel: sha256_file(os.path.join(t, "inbox", rel)) for rel in files_under(os.path.join(t, "inbox"))}

    def make_requests(self, generated_reissue):
        """Person ids come from a scratch eligibility + import run of the same inputs. Deletion: two
        members with Mynaportal records. Export: two members with checkups, one of them also deleted
        (deletions run first, so the export must not hold the deleted records). Reissue: the generator's
        requests when it writes them; else a few active members, one merged second request and one
        unknown person."""
        scratch = os.path.join(self.work, "scratch-var")
        cmd = [self.kenpo, "eligibility", "--data", scratch, "--date", DATE]
        for name, short in self.profiles:
            cmd += ["--profile", name, os.path.join(self.template, "inbox", "eligibility", short, "roster.csv")]
        for c in [cmd, [self.kenpo, "import", "--data", scratch, "--date", DATE]
                  + [os.path.join(self.template, f) for f in self.import_folders]]:
            p = subprocess.run(c, env=self.env, capture_output=True, text=True, cwd=self.template)
            if p.returncode not in (0, 3):
                die(f"kenpo {c[1]} (to pick the requests' persons) failed ({p.returncode}): {p.stderr.strip()}")

        def table(name):
            rows = read_csv(os.path.join(scratch, "state", "current", name))
            return [dict(zip(rows[0], r)) for r in rows[1:]] if rows else []
        rng = random.Random(self.args.seed + 1)
        active = [m["person_id"] for m in table("members.csv") if m["status"] == "active"]
        myna = sorted({r["person_id"] for f in ["cost_notices.csv", "prescriptions.csv"] for r in table(f)
                       if "mynaportal" in r.get("source", "")})
        checked = sorted({r["person_id"] for r in table("checkups.csv")})
        inbox = os.path.join(self.template, "inbox")

        def write(path, rows):
            with open(path, "w", encoding="utf-8", newline="") as f:
                csv.writer(f, lineterminator="\r\n").writerows(rows)
        deleted = rng.sample(myna, min(2, len(myna)))
        if deleted:
            write(os.path.join(inbox, "requests", "delete", "deletions.csv"),
                  [["request_id", "person_id", "requested_at"]]
                  + [[f"DEL-{i + 1:04d}", pid, f"{DATE}T09:{i:02d}:00+09:00"] for i, pid in enumerate(deleted)])
        exported = rng.sample([p for p in checked if p not in deleted], min(1, len(checked))) + deleted[:1]
        if exported:
            write(os.path.join(inbox, "requests", "export", "exports.csv"),
                  [["request_id", "person_id"]] + [[f"EXP-{i + 1:04d}", pid] for i, pid in enumerate(exported)])
        self.notes.append(f"requests: {len(deleted)} deletions (Mynaportal records), {len(exported)} exports "
                          f"({'one of them deleted first' if deleted else 'none deleted'})")
        reissue = os.path.join(inbox, "reissue", "requests.csv")
        if os.path.exists(generated_reissue):
            shutil.copy(generated_reissue, reissue)
            self.notes.append("reissue requests: from kenpo generate (reissue/requests.csv)")
        else:
            picked = rng.sample(active, min(len(active), max(4, len(active) // 40)))
            rows = [["person_id", "ticket", "reason", "postal_code", "address1", "address2"]]
            for i, pid in enumerate(picked):
                address = ["100-0005", "東京都千代田区丸の内１－１", ""] if i == 0 else ["", "", ""]
                rows.append([pid, f"T-{i + 1:04d}", "lost" if i % 2 else "damaged"] + address)
            rows.append([picked[1], "T-9001", "lost (second call)", "", "", ""])
            rows.append(["00000000000000ff", "T-9002", "lost", "", "", ""])
            write(reissue, rows)
            self.notes.append("reissue requests: kenpo generate wrote none; made by the test")
        shutil.rmtree(scratch, ignore_errors=True)

    def write_pipeline(self, root, sections):
        lines = ["# Written by Tests/crash/crash-test.py", "[pipeline]", "name = crash", "", "[eligibility]"]
        for name, short in self.profiles:
            lines.append(f"{name} = inbox/eligibility/{short}/*.csv")
        lines += ["", "[import]", "auto = " + " ".join(self.import_folders)]
        if "codes" in sections:
            lines += ["", "[codes]", "key_file = pipelines/demo-code-key", "print_encoding = utf-8"]
            for name, short in self.profiles:
                lines.append(f"{name} = inbox/mailing/{short}/*.csv")
        if "reissue" in sections:
            lines += ["", "[reissue]", "requests = inbox/reissue/*.csv"]
        if "delete" in sections:
            lines += ["", "[delete]", "requests = inbox/requests/delete/*.csv"]
        if "export" in sections:
            lines += ["", "[export]", "requests = inbox/requests/export/*.csv"]
        if "archive" in sections:
            lines += ["", "[archive]", "mode = move", "folder = archive"]
        with open(os.path.join(root, "pipelines", "crash.pipeline"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def fresh_case(self):
        """A fresh copy of ROOT and no data folder (logs of an earlier attempt go too)."""
        if os.path.lexists(self.case):
            shutil.rmtree(self.case)
        os.makedirs(self.case)
        shutil.copytree(self.template, self.root)
        self.write_pipeline(self.root, self.features)

    def command(self):
        return [self.kenpo, "run", os.path.join(self.root, "pipelines", "crash.pipeline"), "--data", self.var, "--date", DATE]

    def save_case(self, label):
        """--keep: moves the case folder aside (its outputs still name the case path)."""
        if self.args.keep:
            dest = os.path.join(self.work, "cases", label)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.move(self.case, dest)
        else:
            shutil.rmtree(self.case, ignore_errors=True)

    def run(self, tag, extra_env=None, kill_after=None, trace=False):
        """Runs `kenpo run` (stdout and stderr to case/logs/TAG.out and .err; with trace, the crash points
        it reaches to case/logs/TAG.trace); with kill_after, SIGKILLs it from outside after that many
        seconds. Returns (returncode, stdout, stderr, seconds, killed_from_outside)."""
        env = dict(self.env)
        env.update(extra_env or {})
        logs = os.path.join(self.case, "logs")
        os.makedirs(logs, exist_ok=True)
        if trace:
            env["KENPO_CRASH_TRACE"] = os.path.join(logs, tag + ".trace")
        out_path, err_path = os.path.join(logs, tag + ".out"), os.path.join(logs, tag + ".err")
        t0 = time.monotonic()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            p = subprocess.Popen(self.command(), env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=self.case)
            killed = False
            try:
                p.wait(timeout=kill_after if kill_after is not None else self.timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                killed = kill_after is not None
                p.wait()
                if not killed:
                    err.write("\n(crash-test: killed after the time limit)\n")
        secs = time.monotonic() - t0
        return p.returncode, open(out_path, errors="replace").read(), open(err_path, errors="replace").read(), secs, killed

    # -- reference -----------------------------------------------------------------------------------

    def reference(self):
        self.features = list(OPTIONAL_SECTIONS)
        self.timeout = 600
        while True:
            self.fresh_case()
            rc, _, err, _, _ = self.run("probe")
            m = re.search(r"unknown section \[(\w+)\]", err)
            if rc == 2 and m and m.group(1) in self.features:
                self.features.remove(m.group(1))
                self.missing.append(m.group(1))
                continue
            break
        if rc not in (0, 3):
            die(f"the reference run failed ({rc}):\n{err.strip()}")
        shutil.rmtree(self.case)
        for s in self.missing:
            say(f"NOTE: this kenpo does not accept [{s}] (unknown section): the test runs without it")

        trace = os.path.join(self.work, "trace.txt")
        times, dests = [], []
        for i, extra in enumerate([{"KENPO_CRASH_TRACE": trace}, {}]):
            if i:   # every timestamp of run 2 in a later second than run 1's, so that they all differ
                time.sleep(max(0.0, 1.1 - (time.monotonic() - ended)))
            self.fresh_case()
            rc, _, err, secs, _ = self.run(f"reference-{i + 1}", extra)
            ended = time.monotonic()
            if rc not in (0, 3):
                die(f"reference run {i + 1} failed ({rc}):\n{err.strip()}")
            times.append(secs)
            self.ref_status = rc
            self.ref_var_kb = du_kb(self.var)
            dests.append(os.path.join(self.work, f"reference-{i + 1}"))
            shutil.move(self.case, dests[-1])
        self.ref_seconds = min(times)
        self.timeout = max(120, 20 * max(times))
        self.trace = [l.strip() for l in open(trace, encoding="utf-8")] if os.path.exists(trace) else []

        def read(dest, normaliser):
            o = Outcome(os.path.join(dest, "root"), os.path.join(dest, "var"), self.key, normaliser, self.features,
                        named_root=self.root)
            o.check_inputs(self.template_inputs)
            return o
        # What differs between two uninterrupted runs (file, column), read without restriction ...
        learn = [read(d, Normaliser()) for d in dests]
        raw_diff = set()
        for name in set(learn[0].raw) & set(learn[1].raw):
            a, b = learn[0].raw[name], learn[1].raw[name]
            base = os.path.basename(name)
            if a == b:
                continue
            if isinstance(a, list) and isinstance(b, list) and a and isinstance(a[0], list):
                for ra, rb in zip(a[1:], b[1:]):
                    for j, (x, y) in enumerate(zip(ra, rb)):
                        if x != y:
                            raw_diff.add((base, a[0][j] if j < len(a[0]) else f"#{j + 1}"))
                            if a[0] == ["entry", "sha256"]:     # a ZIP: the entry's name is the "column"
                                raw_diff.add((base, ra[0]))
            elif isinstance(a, dict) and isinstance(b, dict):
                raw_diff.update((base, k) for k in a if a.get(k) != b.get(k))
            else:
                raw_diff.add((base, ""))
        say("differs between two uninterrupted runs: "
            + (", ".join(f"{f} [{c}]" for f, c in sorted(raw_diff)) or "nothing"))
        # ... and only there are run ids and timestamps normalised.
        self.normaliser = Normaliser(allowed=raw_diff)
        self.ref, ref2 = [read(d, self.normaliser) for d in dests]
        say(f"reference: exit {self.ref_status}, {self.ref_seconds:.2f}s, {len(self.ref.runs)} published run(s), "
            f"{len(self.ref.datasets)} datasets, {self.ref.postcards} postcards, data folder {self.ref_var_kb} KiB")
        say("normalised before comparing (rule, and the cells it changed in the two reference runs):")
        for line in self.normaliser.describe():
            say("    " + line)
        say("    (and in every manifest: input paths under archive/<date>/<run id>/ or inbox/ are keyed as the inbox names them)")
        ok = True
        for o, label in [(self.ref, "reference run 1"), (ref2, "reference run 2")]:
            for p in o.problems:
                self.fail(label, p)
                ok = False
        for d in compare(self.ref, ref2):
            self.fail("reference runs 1 and 2", "not equal after normalisation: " + d)
            ok = False
        if not ok:
            say("FAIL: the reference itself does not pass; the kill points below are compared with it anyway")
        if not self.args.keep:
            for d in dests:
                shutil.rmtree(d, ignore_errors=True)

    # -- kill points ---------------------------------------------------------------------------------

    @staticmethod
    def stage_of(name):
        parts = name.split(":")
        if parts[0] == "step" and len(parts) >= 3:
            return parts[2]
        return parts[0]

    def choose_points(self, budget):
        """Spread over every stage: the first arrival at every point (round robin over stages when there
        are more than the budget), then the last and middle arrival of points reached many times, then
        further random arrivals of those."""
        counts = collections.OrderedDict()
        position = {}
        for i, name in enumerate(self.trace):
            counts[name] = counts.get(name, 0) + 1
            position[(name, counts[name])] = i
        by_stage = collections.OrderedDict()
        for name in counts:
            by_stage.setdefault(self.stage_of(name), []).append(name)

        def round_robin(lists):
            out, lists = [], [list(l) for l in lists]
            while any(lists):
                for l in lists:
                    if l:
                        out.append(l.pop(0))
            return out

        tiers = [
            round_robin([[(n, 1) for n in names] for names in by_stage.values()]),
            round_robin([[(n, counts[n]) for n in names if counts[n] > 1] for names in by_stage.values()]),
            round_robin([[(n, (counts[n] + 1) // 2) for n in names if counts[n] > 2] for names in by_stage.values()]),
        ]
        many = [n for n in counts if counts[n] > 3]
        extra = [(n, k) for n in many for k in range(2, counts[n]) if k != (counts[n] + 1) // 2]
        self.rng.shuffle(extra)
        tiers.append(extra)
        chosen = []
        for tier in tiers:
            for p in tier:
                if len(chosen) >= budget:
                    break
                if p not in chosen:
                    chosen.append(p)
        return sorted(chosen, key=lambda p: position[p]), counts

    def read_trace(self, tag):
        path = os.path.join(self.case, "logs", tag + ".trace")
        return [l.strip() for l in open(path, encoding="utf-8")] if os.path.exists(path) else []

    def complete(self, label, rc, reasons, kill_first_rerun=False, checkpointed=()):
        """Reruns the same command (no kill hook; the points it passes are traced) until a run completes
        (exit 0 or 3), at most twice, then checks the outcome against the reference. A step whose
        checkpoint an earlier run of the case reached must not begin again. Returns (reruns, statuses)."""
        reruns, statuses = 0, []
        checkpointed = set(checkpointed)
        published = self.published_files()   # what the killed run had published must stay published
        before = Outcome.published(self.var)
        errs = ""
        while rc not in (0, 3):
            if reruns == 2:
                reasons.append(f"no completion after 2 reruns (exit statuses {statuses})")
                return reruns, statuses
            reruns += 1
            before = Outcome.published(self.var)
            kill = self.rng.uniform(0.05, 0.8) * self.ref_seconds if kill_first_rerun and reruns == 1 else None
            rc, _, err, _, _ = self.run(f"rerun-{reruns}", kill_after=kill, trace=bool(self.trace))
            errs += err
            statuses.append(rc)
            trace = self.read_trace(f"rerun-{reruns}")
            redone = sorted({t.split(":", 2)[2] for t in trace if t.startswith("step:begin:")} & checkpointed)
            if redone:
                reasons.append(f"rerun {reruns} redid step(s) {', '.join(redone)}, whose checkpoint an earlier run had reached")
            checkpointed |= {t.split(":", 2)[2] for t in trace if t.startswith("step:checkpoint:")}
            if rc == -signal.SIGKILL:
                published.update({k: v for k, v in self.published_files().items() if k not in published})
            if rc not in (0, 3, -signal.SIGKILL):
                last = err.strip().splitlines()[-1] if err.strip() else ""
                reasons.append(f"rerun {reruns} exited {rc}: {last}")
        o = Outcome(self.root, self.var, self.key, self.normaliser, self.features)
        o.check_inputs(self.template_inputs)
        reasons += o.problems
        reasons += compare(self.ref, o)
        now = self.published_files()
        for run in sorted({r for r, _ in published}):
            if run not in o.runs:
                reasons.append(f"outbox/{run}, published by a killed run, is gone after the rerun")
        changed = sorted(f"{r}/{f}" for (r, f), sha in published.items() if r in o.runs and now.get((r, f)) != sha)
        if changed:
            reasons.append(f"files of a run published before the rerun changed: {', '.join(changed[:3])}")
        published_now = set(o.runs) - set(before)
        if rc != self.ref_status:
            if reruns and not published_now:
                self.doubt(f"{label}: the completing rerun exited {rc} (it published nothing: the killed run had "
                           f"committed), the reference {self.ref_status}: the rejects' exit status is never reported")
            else:
                reasons.append(f"the completing run exited {rc}, the reference {self.ref_status}")
        for m in re.finditer(r"discarding the unfinished run (r\d{6}-\S+) \(nothing of it was published\)", errs):
            if m.group(1) in o.runs:
                self.doubt(f"{label}: a rerun logs 'discarding the unfinished run {m.group(1)} (nothing of it was "
                           f"published)', but that run is published (outbox/{m.group(1)})")
        if len(o.runs) != len(self.ref.runs):
            self.notes.append(f"{label}: {len(o.runs)} published runs (reference {len(self.ref.runs)})")
        return reruns, statuses

    def published_files(self):
        """(run, file) -> SHA-256 of every published run's manifest and print files (postcards)."""
        out = {}
        for run in Outcome.published(self.var):
            top = os.path.join(self.var, "outbox", run)
            for rel in files_under(top):
                if rel == "manifest.json" or (rel.startswith("postcards") and rel.endswith(".csv")):
                    out[(run, rel)] = sha256_file(os.path.join(top, rel))
        return out

    def run_case(self, index, label, spec, kind):
        """One kill and the reruns after it. spec: the KENPO_CRASH_AT value, or the outside kill delay."""
        reasons = []
        where = ""
        if kind == "hook":
            self.fresh_case()
            rc, _, err, _, _ = self.run("killed", {"KENPO_CRASH_AT": spec}, trace=True)
            if rc != -signal.SIGKILL:
                reasons.append(f"the run was not killed at {spec}: exit {rc}" +
                               (f" ({err.strip().splitlines()[-1]})" if err.strip() else ""))
            else:
                name, _, k = spec.partition("#")
                trace = self.read_trace("killed")
                if not trace or trace[-1] != name or trace.count(name) != int(k or 1):
                    reasons.append(f"the kill did not happen at {spec}: the killed run's last crash point is "
                                   f"{trace[-1] if trace else 'none'} (arrival {trace.count(trace[-1]) if trace else 0})")
        else:
            # From outside at a random time; when the run ends first, again sooner (at most 4 tries).
            delay = spec
            for attempt in range(4):
                self.fresh_case()
                rc, _, err, _, killed = self.run("killed", kill_after=delay, trace=bool(self.trace))
                if killed:
                    break
                delay *= self.rng.uniform(0.3, 0.7)
            label = f"outside SIGKILL after {delay:.3f}s"
            if not killed:
                self.notes.append(f"{label}: the run ended (exit {rc}) before every kill; checked as an uninterrupted run")
            elif rc != -signal.SIGKILL:
                reasons.append(f"killed from outside but exit status {rc}")
            trace = self.read_trace("killed")
            if trace:
                where = f"  (after {trace[-1]}#{trace.count(trace[-1])})"
        first_rc = rc
        checkpointed = {t.split(":", 2)[2] for t in self.read_trace("killed") if t.startswith("step:checkpoint:")}
        reruns, statuses = self.complete(label, rc, reasons, kill_first_rerun=label.endswith("+rerun-killed"),
                                         checkpointed=checkpointed)
        ok = not reasons
        rc_text = "-9 (SIGKILL)" if first_rc == -signal.SIGKILL else str(first_rc)
        say(f"{index:3d}  {label:<58} killed run: {rc_text:<13} reruns: {reruns} {statuses!s:<10} {'OK' if ok else 'FAIL'}{where}")
        for r in reasons:
            say(f"       - {r}")
            self.failures.append(f"{label}: {r}")
        self.results.append((label, ok))
        self.save_case(f"{index:03d}-" + re.sub(r"[^\w.#+-]+", "_", label)[:80])

    def doubt(self, text):
        if text not in self.doubts:
            self.doubts.append(text)

    def kill_points(self):
        quick = self.args.quick
        outside = 3 if quick else 6
        cases = []
        if self.trace:
            distinct = len(set(self.trace))
            # Default: every distinct point once (at least 20); the full variant adds later arrivals.
            budget = self.args.points or (max(20, distinct) if quick else max(40, distinct + 16))
            chosen, counts = self.choose_points(budget)
            stages = collections.Counter(self.stage_of(n) for n, _ in chosen)
            say(f"crash points: {len(counts)} distinct, {len(self.trace)} arrivals in the traced reference run; "
                f"{len(chosen)} chosen ({', '.join(f'{s} {n}' for s, n in stages.items())})")
            for n, k in chosen:
                spec = n if k == 1 else f"{n}#{k}"
                cases.append((f"{n}#{k} of {counts[n]}", spec, "hook"))
            # A few kills whose first rerun is killed too (from outside, at a random time).
            doubles = [] if quick else self.rng.sample(chosen, min(3, len(chosen)))
            for n, k in doubles:
                cases.append((f"{n}#{k} of {counts[n]}+rerun-killed", n if k == 1 else f"{n}#{k}", "hook"))
        else:
            say("NOTE: the traced reference run reached no crash point (KENPO_CRASH_TRACE is not implemented by "
                "this kenpo): every kill is from outside, at a random time")
            self.missing.append("crash hooks")
            outside = self.args.points or (20 if quick else 40)
        for i in range(outside):
            delay = self.rng.uniform(0.05, 1.0) * self.ref_seconds
            cases.append((f"outside SIGKILL after {delay:.3f}s", delay, "outside"))
        say(f"{'#':>3}  {'kill point (NAME#K of arrivals in the reference)':<58} {'killed run':<25} {'reruns, exit statuses':<21} result")
        for i, (label, spec, kind) in enumerate(cases, 1):
            if self.args.only and self.args.only not in label:
                continue
            self.run_case(i, label, spec, kind)

    # -- disk full -----------------------------------------------------------------------------------

    def mount(self, size_kb, remount=False):
        if remount:
            cmd = ["mount", "-o", f"remount,size={size_kb}k", self.var]
        else:
            cmd = ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", self.var]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return p.stderr.strip() or f"mount exited {p.returncode}"
        self.mounted = self.var
        return None

    def umount(self):
        if self.mounted:
            subprocess.run(["umount", self.mounted], capture_output=True)
            self.mounted = None

    def day_before(self):
        """The previous night: `kenpo eligibility` of the same rosters on the day before, so that the
        disk-full run has a published state and outbox that must stay as they are."""
        cmd = [self.kenpo, "eligibility", "--data", self.var, "--date", DAY_BEFORE]
        for name, short in self.profiles:
            cmd += ["--profile", name, os.path.join(self.root, "inbox", "eligibility", short, "roster.csv")]
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, cwd=self.root)
        return p.returncode, p.stderr

    def snapshot_published(self):
        """What a failed run must leave as it was: the published runs, the links, the current state."""
        out = {"runs": Outcome.published(self.var)}
        for link in ["state/current", "outbox/latest"]:
            p = os.path.join(self.var, link)
            out[link] = os.readlink(p) if os.path.islink(p) else None
        cur = os.path.join(self.var, "state", "current")
        out["state"] = {rel: sha256_file(os.path.join(cur, rel)) for rel in files_under(cur)}
        out["generations"] = sorted(os.listdir(os.path.join(self.var, "state", "generations")))
        return out

    def disk_full(self):
        if os.geteuid() != 0:
            say("disk full: SKIPPED — not root (a tmpfs mount is needed); run as root to include it")
            self.notes.append("disk-full test skipped: not root")
            return
        # Reference on disk: the day before (eligibility), then the pipeline, uninterrupted.
        self.fresh_case()
        rc, err = self.day_before()
        if rc not in (0, 3):
            die(f"the day-before eligibility run failed ({rc}): {err.strip()}")
        before_kb = du_kb(self.var)
        rc, _, err, _, _ = self.run("reference")
        if rc not in (0, 3):
            die(f"the disk-full reference run failed ({rc}): {err.strip()}")
        total_kb = du_kb(self.var)
        ref = Outcome(self.root, self.var, self.key, self.normaliser, self.features)
        ref.check_inputs(self.template_inputs)
        for p in ref.problems:
            self.fail("disk-full reference", p)
        self.save_case("disk-full-reference")
        fractions = [0.1, 0.3, 0.5, 0.7, 0.9] if not self.args.quick else [0.2, 0.6]
        say(f"disk full: the data folder holds {before_kb} KiB after the day before and {total_kb} KiB after the run; "
            f"the run gets {', '.join(f'{int(f * 100)}%' for f in fractions)} of the {total_kb - before_kb} KiB it needs")
        hit = 0
        for f in fractions:
            self.fresh_case()
            os.makedirs(self.var)
            problem = self.mount(total_kb * 4 + 8192)
            if problem:
                say(f"disk full: SKIPPED — cannot mount a tmpfs ({problem})")
                self.notes.append("disk-full test skipped: mount failed")
                shutil.rmtree(self.case, ignore_errors=True)
                return
            reasons, reruns, statuses, rc = [], 0, [], None
            try:
                drc, derr = self.day_before()
                if drc not in (0, 3):
                    die(f"the day-before eligibility run failed on the tmpfs ({drc}): {derr.strip()}")
                used = du_kb(self.var)
                size = (used + max(16, int((total_kb - before_kb) * f))) // 4 * 4
                label = f"disk full: {int(f * 100)}% of the room needed (tmpfs {size}k)"
                problem = self.mount(size, remount=True)
                if problem:
                    reasons.append(f"remount to {size}k failed: {problem}")
                before = self.snapshot_published()
                rc, _, err, _, _ = self.run("disk-full")
                if rc in (0, 3):
                    self.notes.append(f"{label}: the run fitted (exit {rc}); the disk never filled")
                elif rc != 1:
                    reasons.append(f"exit status {rc}, expected 1 (failed cleanly)" + (" — it crashed" if rc < 0 else ""))
                if rc == 1:
                    hit += 1
                    full = re.search(r"no space left on device|disk (is )?full|ENOSPC", err, re.I)
                    if not full or self.var not in err:
                        reasons.append("the error does not " + ("say the disk is full" if not full else "name the path")
                                       + f": {err.strip().splitlines()[-1] if err.strip() else '(nothing on stderr)'}")
                    line = next((l for l in err.splitlines() if re.search(r"no space|disk is full", l, re.I)), "")
                    self.disk_full_lines.append(line.strip())
                    after = self.snapshot_published()
                    for k in before:
                        if before[k] != after[k]:
                            reasons.append(f"half-published: {k} changed from {before[k]!s:.80} to {after[k]!s:.80}")
                    moved = files_under(os.path.join(self.root, "archive"))
                    if moved:
                        reasons.append(f"a failed run archived inputs: {moved[:3]}")
                    left = {rel: sha256_file(os.path.join(self.root, "inbox", rel))
                            for rel in files_under(os.path.join(self.root, "inbox"))}
                    if left != self.template_inputs:
                        reasons.append("a failed run changed the inbox")
                # Room again: remount bigger (what the failed run staged survives), rerun to completion.
                problem = self.mount(total_kb * 4 + 8192, remount=True)
                if problem:
                    reasons.append(f"remount failed: {problem}")
                saved_ref, self.ref = self.ref, ref
                try:
                    reruns, statuses = self.complete(label, rc, reasons)
                finally:
                    self.ref = saved_ref
                if self.args.keep:
                    shutil.copytree(self.var, self.var + "-copy", symlinks=True)
            finally:
                self.umount()
            ok = not reasons
            say(f"{'':3}  {label:<58} run: exit {rc!s:<4} {'(filled)' if rc == 1 else '':<14} reruns: {reruns} {statuses!s:<10} "
                f"{'OK' if ok else 'FAIL'}")
            if rc == 1:
                say(f"{'':8} {self.disk_full_lines[-1][:150]}")
            for r in reasons:
                say(f"       - {r}")
                self.failures.append(f"{label}: {r}")
            self.results.append((label, ok))
            self.save_case(f"disk-full-{int(f * 100)}")
        if hit == 0:
            self.failures.append("disk full: no tmpfs size made the run fail; the disk-full case was not exercised")

    # -- main ----------------------------------------------------------------------------------------

    def fail(self, label, reason):
        say(f"FAIL {label}: {reason}")
        self.failures.append(f"{label}: {reason}")

    def main(self):
        t0 = time.monotonic()
        say(f"crash test: kenpo {self.kenpo}, {self.args.members} members, seed {self.args.seed}, "
            f"{'quick' if self.args.quick else 'full'}; work folder {self.work}")
        try:
            gen = self.generate()
            self.build_template(gen)
            self.key = load_code_key(os.path.join(self.template, "pipelines", "demo-code-key"))
            self.normaliser = Normaliser()
            self.reference()
            say(f"sections: {', '.join(['eligibility', 'import'] + self.features)}"
                + (f"; not accepted by this kenpo: {', '.join(self.missing)}" if self.missing else ""))
            self.kill_points()
            if not self.args.no_disk_full:
                self.disk_full()
        finally:
            self.umount()
            if self.args.keep:
                say(f"kept: {self.work} (reference-1, reference-2, cases/…; each case has logs/)")
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        secs = time.monotonic() - t0
        passed = sum(1 for _, ok in self.results if ok)
        say("")
        say(f"summary: {passed}/{len(self.results)} cases passed in {secs:.0f}s"
            + (f"; NOT TESTED (kenpo lacks them): {', '.join(self.missing)}" if self.missing else ""))
        for n in self.notes:
            say(f"  note: {n}")
        for d in self.doubts:
            say(f"  DOUBT (not counted as a failure): {d}")
        if self.failures:
            say(f"  {len(self.failures)} failures:")
            for f in self.failures:
                say(f"    {f}")
        missing_fail = self.missing and not self.args.allow_missing
        if missing_fail:
            say(f"FAIL: this kenpo lacks {', '.join(self.missing)} (--allow-missing runs without them and passes)")
        ok = not self.failures and not missing_fail
        say("crash test: " + ("passed" if ok else "FAILED"))
        return 0 if ok else 1


def build_kenpo(scratch):
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    say(f"building kenpo: swift build{' --scratch-path ' + scratch if scratch else ''}")
    for attempt in range(3):
        p = subprocess.run([swift, "build", "--product", "kenpo"] + (["--scratch-path", scratch] if scratch else []),
                           cwd=REPO, capture_output=True, text=True)
        if p.returncode == 0:
            return os.path.join(scratch or os.path.join(REPO, ".build"), "debug", "kenpo")
        if "modified during the build" not in p.stdout + p.stderr:
            break
    die(f"swift build failed:\n{(p.stdout + p.stderr)[-3000:]}")


def main():
    ap = argparse.ArgumentParser(description="Kills `kenpo run` at many points and checks that a rerun loses and "
                                             "duplicates nothing (issue 7, item 6).")
    ap.add_argument("--members", type=int, help="members to generate (default 300; --quick 120)")
    ap.add_argument("--points", type=int, help="hook kill points (default: every distinct crash point once, at least "
                                               "20, for --quick; 16 more arrivals, at least 40, for the full test)")
    ap.add_argument("--quick", action="store_true", help="the CI variant: fewer points, fewer members")
    ap.add_argument("--kenpo", help="the kenpo binary (default: swift build, then .build/debug/kenpo)")
    ap.add_argument("--scratch-path", help="swift build's --scratch-path when building kenpo (default .build)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folders for debugging")
    ap.add_argument("--seed", type=int, default=7, help="seed of the data and of the random choices (default 7)")
    ap.add_argument("--only", help="run only the kill points whose label contains this text")
    ap.add_argument("--no-disk-full", action="store_true", help="leave out the disk-full cases")
    ap.add_argument("--allow-missing", action="store_true",
                    help="pass even when kenpo lacks a pipeline section ([codes], [reissue], [delete], [export], [archive]) or the crash "
                         "hooks (then: without those sections, kills from outside only)")
    args = ap.parse_args()
    if args.members is None:
        args.members = 120 if args.quick else 300
    if args.points is not None and args.points < 1:
        ap.error("--points must be at least 1")
    args.kenpo = os.path.abspath(args.kenpo) if args.kenpo else build_kenpo(
        os.path.abspath(args.scratch_path) if args.scratch_path else None)
    if not os.access(args.kenpo, os.X_OK):
        die(f"{args.kenpo} is not an executable kenpo", 2)
    sys.exit(CrashTest(args).main())


if __name__ == "__main__":
    main()
