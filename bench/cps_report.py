#!/usr/bin/env python3
"""Parsing helpers for bench/cps: SIPp statistics, message traces, error logs.

Subcommands (each prints one line of space-separated fields, or a short summary):

  stat FILE.csv      last row of a SIPp `-trace_stat` file:
                     "created ok failed retrans elapsed_s"
  latency MSG.log    INVITE sent -> first 200 to that INVITE received, per Call-ID,
                     from a SIPp `-trace_msg` file (microsecond timestamps):
                     "count p50_ms p99_ms max_ms"   (nearest-rank percentiles)
  errors ERR.log     the distinct reasons in a SIPp `-trace_err` file, most common first
"""

import collections
import csv
import datetime
import math
import re
import sys


def stat(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    if len(rows) < 2:
        raise SystemExit(f"{path}: no statistics row")
    head, last = rows[0], rows[-1]
    col = {name: i for i, name in enumerate(head)}

    def num(name):
        try:
            return int(float(last[col[name]]))
        except (KeyError, IndexError, ValueError):
            return 0

    def epoch(name):
        # "2026-11-23\t11:02:15.933139\t1795431735.933139": the last field is epoch seconds.
        try:
            return float(last[col[name]].split("\t")[-1])
        except (KeyError, IndexError, ValueError):
            return 0.0

    elapsed = max(0.0, epoch("CurrentTime") - epoch("StartTime"))
    print(
        num("OutgoingCall(C)"),
        num("SuccessfulCall(C)"),
        num("FailedCall(C)"),
        num("Retransmissions(C)"),
        f"{elapsed:.3f}",
    )


SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$")


def blocks(path):
    """Yields (timestamp, direction, message lines) for each traced message."""
    ts, lines = None, []
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = SEP.match(line)
            if m:
                if ts is not None:
                    yield ts, lines
                ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
                lines = []
            elif ts is not None:
                lines.append(line)
    if ts is not None:
        yield ts, lines


def header(lines, name):
    prefix = name.lower() + ":"
    for line in lines:
        if line.lower().startswith(prefix):
            return line.split(":", 1)[1].strip()
    return None


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency(path):
    sent, got = {}, {}
    for ts, lines in blocks(path):
        # lines[0] is "UDP message sent (N bytes):" or "UDP message received [N] bytes :",
        # then a blank line, then the SIP message.
        if not lines:
            continue
        kind = lines[0]
        body = [l for l in lines[1:] if l.strip()]
        if not body:
            continue
        start = body[0]
        call_id = header(body, "Call-ID")
        cseq = header(body, "CSeq") or ""
        if call_id is None or not cseq.upper().endswith("INVITE"):
            continue
        if " sent" in kind and start.startswith("INVITE "):
            sent.setdefault(call_id, ts)  # first transmission, not retransmissions
        elif "received" in kind and re.match(r"^SIP/2\.0 2\d\d ", start):
            got.setdefault(call_id, ts)
    values = sorted((got[c] - sent[c]) * 1000.0 for c in got if c in sent)
    if not values:
        print(0, "nan", "nan", "nan")
        return
    print(
        len(values),
        f"{percentile(values, 50):.3f}",
        f"{percentile(values, 99):.3f}",
        f"{values[-1]:.3f}",
    )


STAMP = re.compile(r"\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: ")
CALL_ID = re.compile(r"\d+-\d+@[\w.:\[\]-]+")


def errors(path, top=6):
    with open(path, errors="replace") as f:
        text = f.read()
    reasons = collections.Counter()
    # Events start with a timestamp, not always at the start of a line: a quoted
    # multi-line message is followed by the next event on its closing line.
    for event in STAMP.split(text)[1:]:
        first = event.split("\n", 1)[0].rstrip("'").strip()
        reasons[CALL_ID.sub("*", first)] += 1
    for reason, n in reasons.most_common(top):
        print(f"{n:8d}  {reason[:200]}")
    if len(reasons) > top:
        print(f"          ... {len(reasons) - top} other distinct reasons")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("stat", "latency", "errors"):
        raise SystemExit(__doc__)
    {"stat": stat, "latency": latency, "errors": errors}[argv[1]](argv[2])


if __name__ == "__main__":
    main(sys.argv)
