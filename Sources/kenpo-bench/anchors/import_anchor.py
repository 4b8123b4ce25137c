#!/usr/bin/env python3
"""Python lxml anchor for kenpo's checkup import (benchmark comparison only).

Reads hc08 CDA checkup documents (MHLW specific checkup, HL7 CDA R2) with lxml.etree.iterparse
(start and end events; no network, no entity expansion, no DTD) and pulls the same fields kenpo's
reader does (Sources/KenpoCore/Records/CheckupDocumentFormat.swift):

  document  card ids in recordTarget/patientRole/id by OID root (insurer number, symbol, number,
            branch), the patient's kana name (a name with use SYL/PHON wins, else the first), sex
            code, birth date, the document date (ClinicalDocument/effectiveTime), the checkup date
            (documentationOf/serviceEvent/effectiveTime, @value or low/@value), the institution number
            and name (author/assignedAuthor/representedOrganization)
  results   every observation at any depth, in document order: item code, value by type (PQ value
            and unit, the unit spelling normalised as kenpo does; CD/CO/CE/CV code and code system;
            ST/ED text; IVL_PQ with one side only as an out-of-range value H/L; a CD H/L in
            ObservationInterpretation as out of range), interpretation code, reference range
            low/high, group code (the enclosing observation's code), nullFlavor, negationInd (not
            done); observations without a value and without nullFlavor are groups, not results
  checks    a document lacking the insurer number, card number, birth date, checkup date or
            institution number is rejected, as is an observation without a code or a PQ value that is
            not a decimal number

It writes OUT/checkups.csv (one row per document) and OUT/checkup_results.csv (one row per result)
with csv.writer, and prints: docs=N rejected=R results=M seconds=S

It does NOT do what kenpo import does besides: match documents to members (person ids), check and
deduplicate against stored records, hash contents, grade results (A-D, MHLW flags), or publish state.
So it is the same extraction, without the bookkeeping around it.

Usage: import_anchor.py --files-from LIST --out DIR     (LIST: file paths separated by NUL bytes)

Deliberately straightforward Python, one process, one thread.
"""
import csv
import os
import re
import sys
import time
import unicodedata

from lxml import etree

HL7 = "{urn:hl7-org:v3}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
OID_INSURER = "1.2.392.200119.6.101"
OID_SYMBOL = "1.2.392.200119.6.204"
OID_NUMBER = "1.2.392.200119.6.205"
OID_BRANCH = "1.2.392.200119.6.211"
OID_INSTITUTION = "1.2.392.200119.6.102"
OBS_INTERPRETATION = "2.16.840.1.113883.5.83"
DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
TRIM = " \t\r\n\u3000"

UNITS = {
    "mg/dl": "mg/dl", "u/l": "U/l", "iu/l": "U/l", "g/dl": "g/dl", "mmhg": "mmHg", "mm[hg]": "mmHg",
    "10*4/mm3": "10*4/mm3", "10*4/ul": "10*4/mm3", "10^4/ul": "10*4/mm3", "10^4/μl": "10*4/mm3", "10^4/µl": "10*4/mm3",
    "x10^4/ul": "10*4/mm3", "万/ul": "10*4/mm3", "万/μl": "10*4/mm3",
    "ml/min/1.73m2": "ml/min/1.73m2", "ml/min/{1.73_m2}": "ml/min/1.73m2", "ml/min/1.73m^2": "ml/min/1.73m2",
    "kg/m2": "kg/m2", "kg/m^2": "kg/m2", "cm2": "cm2", "cm^2": "cm2", "cm": "cm", "kg": "kg", "%": "%",
    "mmol/l": "mmol/l", "mg/g": "mg/g", "mg/gcr": "mg/gCr",
    "umol/l": "umol/l", "µmol/l": "umol/l", "μmol/l": "umol/l", "g/l": "g/l", "mmol/mol": "mmol/mol", "kpa": "kPa", "mm": "mm",
}


def unit(raw):
    t = unicodedata.normalize("NFKC", raw).strip()
    return UNITS.get(t.lower(), t)


def text_of(el):
    return "".join(el.itertext()).strip(TRIM)


class Rejected(Exception):
    pass


def new_open(seq, el, group):
    return {
        "seq": seq, "code": "", "group": group, "value_type": "", "has_value": False,
        "negated": el.get("negationInd") == "true", "null_flavor": el.get("nullFlavor") or "",
        "value_text": "", "unit": "", "coded": "", "code_system": "", "interpretation": "",
        "out_of_range": "", "ref_low": "", "ref_high": "", "in_value": False, "in_reference": False,
        "in_range": False, "ivl_low": "", "ivl_high": "", "ivl_low_unit": "", "ivl_high_unit": "", "is_text": False,
    }


def read_document(path):
    """Returns (document fields, results) or raises Rejected."""
    stack = []                       # local names (None for other namespaces)
    in_record_target = in_author = in_documentation_of = 0
    doc = {"insurer": "", "symbol": "", "number": "", "branch": "", "kana": "", "sex": "", "birth": "",
           "document_date": "", "checkup_date": "", "institution_number": "", "institution_name": ""}
    kana_candidates = []
    opened = []
    done = []
    seq = 0
    for event, el in etree.iterparse(path, events=("start", "end"), no_network=True, resolve_entities=False,
                                     load_dtd=False, huge_tree=False):
        tag = el.tag
        name = tag[len(HL7):] if isinstance(tag, str) and tag.startswith(HL7) else None
        if event == "start":
            parent = stack[-1] if stack else None
            stack.append(name)
            if name is None:
                continue
            if name == "recordTarget":
                in_record_target += 1
            elif name == "author":
                in_author += 1
            elif name == "documentationOf":
                in_documentation_of += 1
            elif name == "id":
                if parent == "patientRole" and in_record_target:
                    root = el.get("root")
                    ext = el.get("extension") or ""
                    if root == OID_INSURER:
                        doc["insurer"] = ext
                    elif root == OID_SYMBOL:
                        doc["symbol"] = ext
                    elif root == OID_NUMBER:
                        doc["number"] = ext
                    elif root == OID_BRANCH:
                        doc["branch"] = ext
                elif parent == "representedOrganization" and in_author and el.get("root") == OID_INSTITUTION:
                    doc["institution_number"] = el.get("extension") or ""
            elif name == "administrativeGenderCode":
                if parent == "patient" and in_record_target:
                    doc["sex"] = el.get("code") or ""
            elif name == "birthTime":
                if parent == "patient" and in_record_target:
                    doc["birth"] = el.get("value") or ""
            elif name == "effectiveTime":
                v = el.get("value")
                if len(stack) == 2 and v is not None:
                    doc["document_date"] = v
                if parent == "serviceEvent" and in_documentation_of and v is not None:
                    doc["checkup_date"] = v
            elif name in ("low", "high"):
                if parent == "effectiveTime" and len(stack) >= 3 and stack[-3] == "serviceEvent" and in_documentation_of:
                    if name == "low" and el.get("value") is not None:
                        doc["checkup_date"] = el.get("value")
                elif parent == "value" and opened:
                    o = opened[-1]
                    v = el.get("value") or ""
                    if o["in_range"]:
                        o["ref_low" if name == "low" else "ref_high"] = v
                    elif o["in_value"]:
                        u = el.get("unit") or ""
                        if name == "low":
                            o["ivl_low"], o["ivl_low_unit"] = v, u
                        else:
                            o["ivl_high"], o["ivl_high_unit"] = v, u
            elif name == "observation":
                o = new_open(seq, el, opened[-1]["code"] if opened else "")
                seq += 1
                opened.append(o)
            elif name == "code":
                if parent == "observation" and opened and not opened[-1]["code"]:
                    opened[-1]["code"] = el.get("code") or ""
            elif name == "value":
                if not opened:
                    continue
                o = opened[-1]
                if parent == "observation":
                    o["has_value"] = True
                    o["in_value"] = True
                    vtype = el.get(XSI_TYPE) or el.get("type") or ""
                    vtype = vtype.rsplit(":", 1)[-1]
                    if vtype != "PQ" and el.get("codeSystem") == OBS_INTERPRETATION and el.get("code") in ("H", "L"):
                        o["out_of_range"] = el.get("code")
                        o["value_type"] = "PQ"
                        o["in_value"] = False
                        continue
                    o["value_type"] = vtype
                    if el.get("nullFlavor") is not None:
                        o["null_flavor"] = el.get("nullFlavor")
                    if vtype == "PQ":
                        o["value_text"] = el.get("value") or ""
                        o["unit"] = unit(el.get("unit") or "")
                    elif vtype in ("CD", "CO", "CE", "CV"):
                        o["coded"] = el.get("code") or ""
                        o["code_system"] = el.get("codeSystem") or ""
                    elif vtype in ("ST", "ED"):
                        o["is_text"] = True
                elif parent == "observationRange" and o["in_reference"]:
                    o["in_range"] = True
            elif name == "interpretationCode":
                if parent == "observation" and opened:
                    opened[-1]["interpretation"] = el.get("code") or ""
            elif name == "referenceRange":
                if parent == "observation" and opened:
                    opened[-1]["in_reference"] = True
            continue

        # end
        stack.pop()
        if name is None:
            continue
        parent = stack[-1] if stack else None
        if name == "recordTarget":
            in_record_target -= 1
        elif name == "author":
            in_author -= 1
        elif name == "documentationOf":
            in_documentation_of -= 1
        elif name == "name":
            if parent == "representedOrganization" and in_author:
                if not doc["institution_name"]:
                    doc["institution_name"] = text_of(el)
            elif parent == "patient" and in_record_target:
                kana_candidates.append((el.get("use") or "", text_of(el)))
        elif name == "value" and opened:
            o = opened[-1]
            if o["in_range"]:
                o["in_range"] = False
            elif o["in_value"]:
                o["in_value"] = False
                if o["is_text"]:
                    o["value_text"] = text_of(el)
                elif o["value_type"] == "IVL_PQ":
                    if o["ivl_low"] and not o["ivl_high"]:
                        o["out_of_range"], o["value_text"], o["unit"] = "H", o["ivl_low"], unit(o["ivl_low_unit"])
                    elif not o["ivl_low"] and o["ivl_high"]:
                        o["out_of_range"], o["value_text"], o["unit"] = "L", o["ivl_high"], unit(o["ivl_high_unit"])
        elif name == "referenceRange" and opened:
            opened[-1]["in_reference"] = False
        elif name == "observation":
            o = opened.pop()
            vt = o["value_type"]
            if o["negated"]:
                kind = "not_done"
            elif o["null_flavor"]:
                kind = "not_measured"
            elif o["has_value"]:
                if vt == "PQ":
                    kind = "PQ"
                elif vt in ("CD", "CE", "CV"):
                    kind = "CD"
                elif vt == "CO":
                    kind = "CO"
                elif vt == "IVL_PQ":
                    kind = "IVL_PQ" if not o["out_of_range"] else "PQ"
                else:
                    kind = "ST"
            else:
                continue                 # a group: its code is carried by the nested results
            if not o["code"]:
                raise Rejected("an observation has no code/@code")
            if kind == "PQ" and o["value_text"] and not DECIMAL.fullmatch(o["value_text"]):
                raise Rejected(f"observation {o['code']}: value '{o['value_text']}' is not a decimal number")
            done.append((o["seq"], kind, o))
        elif name == "entry" and not opened:
            el.clear()               # the usual iterparse pattern: drop what has been read
    if kana_candidates:
        phonetic = [t for use, t in kana_candidates if "SYL" in use or "PHON" in use]
        doc["kana"] = phonetic[0] if phonetic else kana_candidates[0][1]
    for field in ("insurer", "number", "birth", "checkup_date", "institution_number"):
        if not doc[field]:
            raise Rejected(f"the checkup lacks {field}")
    done.sort(key=lambda t: t[0])
    return doc, done


def main(argv):
    if len(argv) != 4 or argv[0] != "--files-from" or argv[2] != "--out":
        sys.exit("usage: import_anchor.py --files-from LIST --out DIR")
    started = time.perf_counter()
    with open(argv[1], "rb") as f:
        paths = [p.decode("utf-8") for p in f.read().split(b"\0") if p]
    out = argv[3]
    os.makedirs(out, exist_ok=True)
    docs_file = open(os.path.join(out, "checkups.csv"), "w", encoding="utf-8", newline="")
    results_file = open(os.path.join(out, "checkup_results.csv"), "w", encoding="utf-8", newline="")
    docs = csv.writer(docs_file, lineterminator="\n")
    results = csv.writer(results_file, lineterminator="\n")
    docs.writerow(["doc", "insurer_number", "symbol", "number", "branch", "kana_name", "sex", "birth_date", "checkup_date",
                   "institution_number", "institution_name", "document_date", "result_count", "source_file"])
    results.writerow(["doc", "seq", "item_code", "value_type", "value_text", "unit", "coded_value", "code_system",
                      "interpretation", "out_of_range", "reference_low", "reference_high", "group_code", "null_flavor"])
    n_docs = n_rejected = n_results = 0
    for path in paths:
        try:
            doc, done = read_document(path)
        except (Rejected, etree.XMLSyntaxError) as e:
            n_rejected += 1
            print(f"{path}: rejected: {e}", file=sys.stderr)
            continue
        n_docs += 1
        docs.writerow([n_docs, doc["insurer"], doc["symbol"], doc["number"], doc["branch"], doc["kana"], doc["sex"], doc["birth"],
                       doc["checkup_date"], doc["institution_number"], doc["institution_name"], doc["document_date"], len(done), path])
        for i, (_, kind, o) in enumerate(done, 1):
            results.writerow([n_docs, i, o["code"], kind, o["value_text"], o["unit"], o["coded"], o["code_system"],
                              o["interpretation"], o["out_of_range"], o["ref_low"], o["ref_high"], o["group"], o["null_flavor"]])
        n_results += len(done)
    docs_file.close()
    results_file.close()
    print(f"docs={n_docs} rejected={n_rejected} results={n_results} seconds={time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
