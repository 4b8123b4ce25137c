#!/usr/bin/env python3
"""Plain-Python anchor for kenpo's eligibility roster normalisation (benchmark comparison only).

Reads an insurer profile (.profile, INI) and one roster CSV, and does the same per-row work as
`kenpo eligibility`: decode (CP932 or UTF-8 with/without BOM), NFKC width-fold and trim every field,
validate the insurer number (8 digits, Luhn check digit over the first 7), build the card keys
(number: last 7 digits when 8 or more, leading zeros dropped), normalise the kana name (NFKC,
hiragana -> katakana, spaces and ・ removed, katakana and ー only; key folds small kana to large),
read dates in any style (YYYYMMDD, YYYY/MM/DD, YYYY-MM-DD, 昭和55年1月2日 / 元年, S55.01.02,
7-digit GYYMMDD; an era date outside its era is rejected) into ISO, map sex and relationship codes,
check birth <= run date and qualified <= disqualified, and reject duplicates.

Writes OUT/accepted.csv (UTF-8) and OUT/rejects.csv (`line,reason_code`, the same layout as the
generator's expected_rejects.csv) and prints one line: rows=N accepted=A rejected=R seconds=S

Usage: eligibility_anchor.py --profile P --run-date YYYY-MM-DD --out DIR FILE

Standard library only; deliberately straightforward Python (no caches, no multiprocessing).
"""
import csv
import datetime
import io
import os
import re
import sys
import time
import unicodedata

# --- profile ---------------------------------------------------------------------------------


def read_profile(path):
    """Minimal INI: [section], key = value, '#' comments (whole line, or after a space)."""
    sections = {}
    current = None
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            hash_at = line.find(" #")
            if hash_at >= 0:
                line = line[:hash_at]
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                if not line.endswith("]"):
                    sys.exit(f"{path}:{number}: section header must look like [name]")
                current = line[1:-1].strip()
                sections[current] = {}
                continue
            if "=" not in line or current is None:
                sys.exit(f"{path}:{number}: expected 'key = value' inside a [section]")
            key, value = line.split("=", 1)
            sections[current][key.strip()] = value.strip()
    insurer = sections.get("insurer", {})
    file = sections.get("file", {})
    encoding = file.get("encoding", "UTF-8").upper().replace("_", "-")
    if encoding in ("CP932", "SHIFT-JIS", "SJIS", "WINDOWS-31J", "MS932"):
        codec = "cp932"
    elif encoding in ("UTF-8", "UTF8"):
        codec = "utf-8-sig"
    else:
        sys.exit(f"{path}: encoding {encoding} is not supported")
    return {
        "name": insurer.get("name", ""),
        "insurer_number": fold(insurer["insurer_number"]) if "insurer_number" in insurer else None,
        "codec": codec,
        "header": file.get("header", "yes").lower() in ("yes", "true", "1", "on"),
        "columns": dict(sections.get("columns", {})),
        "sex": {fold(k): v for k, v in sections.get("values.sex", {}).items()},
        "relationship": {fold(k): v for k, v in sections.get("values.relationship", {}).items()},
    }


# --- normalisation helpers ---------------------------------------------------------------------


def fold(s):
    return unicodedata.normalize("NFKC", s).strip()


def luhn7(digits7):
    total = 0
    weight = 2
    for ch in reversed(digits7):
        p = int(ch) * weight
        total += p // 10 + p % 10
        weight = 3 - weight
    return (10 - total % 10) % 10


def is_ascii_digits(s):
    return s.isascii() and s.isdigit()


def number_key(s):
    s = s.replace(" ", "")
    if not s or not is_ascii_digits(s):
        return None
    if len(s) >= 8:
        s = s[-7:]
    return s.lstrip("0") or "0"


def symbol_key(s):
    s = s.replace(" ", "").replace("\t", "").upper()
    return s or None


def branch_key(s):
    if not s:
        return ""
    if not is_ascii_digits(s):
        return None
    return s.lstrip("0").zfill(2) if len(s) > 2 else s.zfill(2)


HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(0x3041, 0x3097)}
HIRAGANA_TO_KATAKANA[0x309D] = 0x30FD
HIRAGANA_TO_KATAKANA[0x309E] = 0x30FE
KANA_DROP = {ord(" "): None, ord("\u3000"): None, ord("・"): None, ord("\t"): None}
KANA_TABLE = {**HIRAGANA_TO_KATAKANA, **KANA_DROP}
SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
KATAKANA_ONLY = re.compile("[\u30A1-\u30FA\u30FC]+")


def kana_name(s):
    """Returns the normalised katakana name, or None when it holds anything but kana."""
    k = s.translate(KANA_TABLE)
    if not KATAKANA_ONLY.fullmatch(k):
        return None
    return k


ERAS = [
    ("明治", "M", datetime.date(1868, 1, 25)),
    ("大正", "T", datetime.date(1912, 7, 30)),
    ("昭和", "S", datetime.date(1926, 12, 25)),
    ("平成", "H", datetime.date(1989, 1, 8)),
    ("令和", "R", datetime.date(2019, 5, 1)),
]
ERA_BY_NAME = {name: i for i, (name, _, _) in enumerate(ERAS)}
ERA_BY_LETTER = {letter: i for i, (_, letter, _) in enumerate(ERAS)}

RE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
RE_GREGORIAN = re.compile(r"(\d{4})([/\-.])(\d{1,2})\2(\d{1,2})")
RE_ERA_KANJI = re.compile(r"(明治|大正|昭和|平成|令和)\s*(元|\d{1,2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
RE_ERA_LETTER = re.compile(r"([MTSHR])(元|\d{1,2})([./\-])(\d{1,2})\3(\d{1,2})", re.IGNORECASE)
RE_ERA_CODE = re.compile(r"([1-5])(\d{2})(\d{2})(\d{2})")


def gregorian(y, m, d):
    try:
        return datetime.date(y, m, d)
    except ValueError:
        return None


def era_date(index, year, m, d):
    if year < 1:
        return None
    start = ERAS[index][2]
    day = gregorian(start.year + year - 1, m, d)
    if day is None or day < start:
        return None
    if index + 1 < len(ERAS) and day >= ERAS[index + 1][2]:
        return None
    return day


def era_year(s):
    return 1 if s == "元" else int(s)


def parse_date(s):
    """Any supported style -> datetime.date, or None (unreadable or no such day)."""
    m = RE_COMPACT.fullmatch(s)
    if m:
        return gregorian(int(m[1]), int(m[2]), int(m[3]))
    m = RE_ERA_CODE.fullmatch(s)
    if m:
        return era_date(int(m[1]) - 1, int(m[2]), int(m[3]), int(m[4]))
    m = RE_GREGORIAN.fullmatch(s)
    if m:
        return gregorian(int(m[1]), int(m[3]), int(m[4]))
    m = RE_ERA_KANJI.fullmatch(s)
    if m:
        return era_date(ERA_BY_NAME[m[1]], era_year(m[2]), int(m[3]), int(m[4]))
    m = RE_ERA_LETTER.fullmatch(s)
    if m:
        return era_date(ERA_BY_LETTER[m[1].upper()], era_year(m[2]), int(m[4]), int(m[5]))
    return None


SEX_DEFAULT = {"1": "M", "M": "M", "m": "M", "男": "M", "男性": "M",
               "2": "F", "F": "F", "f": "F", "女": "F", "女性": "F",
               "": "U", "0": "U", "9": "U", "不明": "U"}
REL_CANONICAL = {"insured": ("insured", False), "dependant": ("dependant", False),
                 "special_retiree_insured": ("insured", True), "special_retiree_dependant": ("dependant", True)}
REL_DEFAULT = {"1": ("insured", False), "本人": ("insured", False), "被保険者": ("insured", False),
               "2": ("dependant", False), "家族": ("dependant", False), "被扶養者": ("dependant", False),
               "特例退職被保険者": ("insured", True), "特退本人": ("insured", True),
               "特例退職被扶養者": ("dependant", True), "特退家族": ("dependant", True)}


def parse_sex(s, overrides):
    if s in overrides:
        return overrides[s]
    v = SEX_DEFAULT.get(s)
    if v is None:
        v = {"male": "M", "female": "F"}.get(s.lower())
    return v


def parse_relationship(s, overrides):
    if not s:
        return None
    if s in overrides:
        return REL_CANONICAL.get(overrides[s])
    v = REL_DEFAULT.get(s)
    if v is None:
        low = s.lower()
        v = ("dependant", False) if low == "dependent" else REL_CANONICAL.get(low)
    return v


def postal_code(s):
    digits = "".join(c for c in s if c.isascii() and c.isdigit())
    return digits if len(digits) == 7 else s


# --- the run ----------------------------------------------------------------------------------

FIELDS = ["insurer_number", "symbol", "number", "branch", "kana_name", "kanji_name", "birth_date", "sex",
          "relationship", "qualified_date", "disqualified_date", "member_ref", "postal_code", "address",
          "address2", "former_insurer_number", "former_symbol", "former_number"]
REQUIRED = ["insurer_number", "symbol", "number", "kana_name", "birth_date"]
SURROGATE = re.compile("[\udc80-\udcff]")
OUT_HEADER = ["line", "insurer_number", "symbol", "number", "branch", "member_ref", "kana_name", "kanji_name",
              "birth_date", "sex", "relationship", "special_retiree", "qualified_date", "disqualified_date",
              "symbol_key", "number_key", "kana_key", "former_card", "postal_code", "address"]


def usage():
    sys.exit("usage: eligibility_anchor.py --profile P --run-date YYYY-MM-DD --out DIR FILE")


def main(argv):
    started = time.perf_counter()
    opts = {}
    files = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--profile", "--run-date", "--out"):
            if i + 1 >= len(argv):
                usage()
            opts[a] = argv[i + 1]
            i += 2
        else:
            files.append(a)
            i += 1
    if len(files) != 1 or set(opts) != {"--profile", "--run-date", "--out"}:
        usage()
    profile = read_profile(opts["--profile"])
    run_date = datetime.date.fromisoformat(opts["--run-date"])
    out_dir = opts["--out"]
    os.makedirs(out_dir, exist_ok=True)
    roster_path = files[0]

    raw = open(roster_path, "rb")
    text = io.TextIOWrapper(raw, encoding=profile["codec"], errors="surrogateescape", newline="")
    reader = csv.reader(text)
    columns = profile["columns"]

    if profile["header"]:
        header = next(reader, None)
        if header is None:
            sys.exit(f"{roster_path}: the file is empty")
        folded = {}
        for idx, name in enumerate(header):
            folded.setdefault(fold(name).replace(" ", ""), idx)
        index = {}
        for field, name in columns.items():
            key = fold(name).replace(" ", "")
            if key not in folded:
                sys.exit(f"{roster_path}: the header has no column '{name}' for {field}")
            index[field] = folded[key]
        expected = len(header)
    else:
        index = {field: int(col) - 1 for field, col in columns.items()}
        expected = max(index.values()) + 1
    col = [index.get(f, -1) for f in FIELDS]
    has_relationship = "relationship" in index
    expected_insurer = profile["insurer_number"]
    sex_overrides = profile["sex"]
    rel_overrides = profile["relationship"]

    accepted_file = open(os.path.join(out_dir, "accepted.csv"), "w", encoding="utf-8", newline="")
    rejects_file = open(os.path.join(out_dir, "rejects.csv"), "w", encoding="utf-8", newline="")
    accepted = csv.writer(accepted_file, lineterminator="\n")
    rejects = csv.writer(rejects_file, lineterminator="\n")
    accepted.writerow(OUT_HEADER)
    rejects.writerow(["line", "reason_code"])

    seen_ref = set()
    seen_card_branch = set()
    seen_person = set()
    rows = n_accepted = n_rejected = 0
    last_line = reader.line_num

    for row in reader:
        line = last_line + 1
        last_line = reader.line_num
        if not row:
            continue                     # a blank line is not a record
        rows += 1

        def reject(code):
            rejects.writerow([line, code])

        if len(row) != expected and not (len(row) > expected and not any(row[expected:])):
            reject("COLUMN_COUNT")
            n_rejected += 1
            continue
        if SURROGATE.search("".join(row)):
            reject("ENCODING_INVALID")
            n_rejected += 1
            continue
        v = [fold(row[c]) if c >= 0 else "" for c in col]
        (insurer, symbol, number, branch, kana, kanji, birth, sex, relationship, qualified, disqualified,
         member_ref, postal, address, address2, former_insurer, former_symbol, former_number) = v

        code = None
        if not insurer or not symbol or not number or not kana or not birth:
            code = "FIELD_MISSING"
        elif not (len(insurer) == 8 and is_ascii_digits(insurer)):
            code = "INSURER_NUMBER_INVALID"
        elif luhn7(insurer[:7]) != int(insurer[7]):
            code = "INSURER_CHECK_DIGIT"
        elif expected_insurer is not None and insurer != expected_insurer:
            code = "INSURER_MISMATCH"
        if code is None:
            s_key = symbol_key(symbol)
            n_key = number_key(number)
            b_key = branch_key(branch)
            k = kana_name(kana)
            if s_key is None:
                code = "SYMBOL_INVALID"
            elif n_key is None:
                code = "NUMBER_INVALID"
            elif b_key is None:
                code = "BRANCH_INVALID"
            elif k is None:
                code = "KANA_INVALID"
        if code is None:
            birth_d = parse_date(birth)
            if birth_d is None:
                code = "DATE_INVALID"
            elif birth_d > run_date:
                code = "BIRTH_AFTER_RUN_DATE"
        if code is None:
            sex_c = parse_sex(sex, sex_overrides)
            if sex_c is None:
                code = "SEX_INVALID"
            elif has_relationship:
                rel = parse_relationship(relationship, rel_overrides)
                if rel is None:
                    code = "RELATIONSHIP_INVALID"
            else:
                rel = ("insured", False)
        if code is None:
            qualified_d = parse_date(qualified) if qualified else None
            disqualified_d = parse_date(disqualified) if disqualified else None
            if (qualified and qualified_d is None) or (disqualified and disqualified_d is None):
                code = "DATE_INVALID"
            elif qualified_d and disqualified_d and disqualified_d < qualified_d:
                code = "QUALIFICATION_ORDER"
            elif qualified_d and qualified_d < birth_d:
                code = "QUALIFICATION_ORDER"
        former_card = ""
        if code is None and (former_insurer or former_symbol or former_number):
            fs = symbol_key(former_symbol) if former_symbol else None
            fn = number_key(former_number)
            fi_ok = len(former_insurer) == 8 and is_ascii_digits(former_insurer) \
                and luhn7(former_insurer[:7]) == int(former_insurer[7])
            if not fi_ok or fs is None or fn is None:
                code = "FORMER_CARD_INVALID"
            else:
                former_card = f"{former_insurer}:{fs}:{fn}"
        if code is None:
            kana_key = k.translate(SMALL_TO_LARGE)
            birth_iso = birth_d.isoformat()
            duplicate = False
            if member_ref:
                key = (insurer, member_ref)
                if key in seen_ref:
                    duplicate = True
                seen_ref.add(key)
            if b_key:
                key = (insurer, s_key, n_key, b_key)
                if key in seen_card_branch:
                    duplicate = True
                seen_card_branch.add(key)
            key = (insurer, s_key, n_key, kana_key, birth_iso)
            if key in seen_person:
                duplicate = True
            seen_person.add(key)
            if duplicate:
                code = "DUPLICATE_PERSON"
        if code is not None:
            reject(code)
            n_rejected += 1
            continue
        addr = f"{address} {address2}" if address and address2 else (address or address2)
        accepted.writerow([
            line, insurer, symbol, number.replace(" ", ""), b_key, member_ref, k, kanji, birth_iso, sex_c,
            rel[0], "true" if rel[1] else "false",
            qualified_d.isoformat() if qualified_d else "", disqualified_d.isoformat() if disqualified_d else "",
            s_key, n_key, kana_key, former_card, postal_code(postal), addr])
        n_accepted += 1

    accepted_file.close()
    rejects_file.close()
    text.close()
    seconds = time.perf_counter() - started
    print(f"rows={rows} accepted={n_accepted} rejected={n_rejected} seconds={seconds:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
