#!/usr/bin/env python3
"""pandas anchor for kenpo's roster ingest (benchmark comparison only).

Reads one roster CSV with pandas.read_csv as a roster reader must: the file's encoding (cp932 for a
Shift_JIS/CP932 roster, utf-8-sig for UTF-8), the header line as column names (or none), and every
column as text (dtype=str, na_filter=False: card numbers keep their leading zeros, empty cells stay
empty strings instead of NaN). Nothing is normalised, validated or written: this is the floor a
pandas-based ingest starts from.

Only the read_csv call is timed (time.perf_counter around it); interpreter start and `import pandas`
are not. Prints one line: rows=N columns=C read_seconds=S

Usage: pandas_roster_anchor.py --encoding cp932|utf-8-sig --header yes|no FILE
"""
import sys
import time

import pandas as pd


def main(argv):
    encoding, header, files = None, None, []
    i = 0
    while i < len(argv):
        if argv[i] in ("--encoding", "--header") and i + 1 < len(argv):
            if argv[i] == "--encoding":
                encoding = argv[i + 1]
            else:
                header = argv[i + 1] == "yes"
            i += 2
        else:
            files.append(argv[i])
            i += 1
    if encoding is None or header is None or len(files) != 1:
        sys.exit("usage: pandas_roster_anchor.py --encoding cp932|utf-8-sig --header yes|no FILE")
    started = time.perf_counter()
    frame = pd.read_csv(files[0], encoding=encoding, header=0 if header else None, dtype=str, na_filter=False)
    seconds = time.perf_counter() - started
    print(f"rows={len(frame)} columns={len(frame.columns)} read_seconds={seconds:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
