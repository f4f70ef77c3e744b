"""The class summary beside the JSON: a CSV gradebook and a one-page HTML report; shards and merging.

The gradebook has one row a submission and one column an exercise (as LMS gradebooks import). The
HTML page shows the score histogram, each exercise's pass rate and most frequent recognised mistakes,
and every submission flagged for tampering or sandbox events. Every text that came from a submission
is escaped. ``shard(paths, "K/N")`` is the K-th of N deterministic slices of a class; ``merge`` joins
the shards' JSON reports into one.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from collections import Counter
from pathlib import Path

from .grade import write_json


def _key(r: dict) -> tuple:
    return (str(r.get("submission")),)


def _columns(reports) -> list[tuple[str, str]]:
    cols = []
    for r in reports:
        for e in r.get("exercises", []):
            if (r["lesson"], e["id"]) not in cols:
                cols.append((r["lesson"], e["id"]))
    return sorted(cols, key=lambda c: (str(c[0]), tuple(int(x) for x in c[1].split("."))))


def gradebook(reports: list[dict]) -> str:
    cols = _columns(reports)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student", "lesson", "score", "max_score", *[f"Exercise {i}" for _, i in cols],
                "suspected_tampering", "error"])
    for r in sorted(reports, key=_key):
        by = {(r["lesson"], e["id"]): e["score"] for e in r.get("exercises", [])}
        w.writerow([_safe_cell(Path(r["submission"]).stem), r["lesson"] or "", f"{r['score']:g}", f"{r['max_score']:g}",
                    *[f"{by[c]:g}" if c in by else "" for c in cols],
                    "yes" if r.get("suspected_tampering") else "no", _safe_cell(r.get("error") or "")])
    return buf.getvalue()


def _safe_cell(text: str) -> str:
    """A spreadsheet must not read a submission's text as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _histogram(reports) -> str:
    bins = [0] * 10
    for r in reports:
        if r["max_score"] > 0:
            bins[min(9, int(10 * r["score"] / r["max_score"]))] += 1
    top = max(bins) or 1
    bars = "".join(
        f'<rect x="{20 + 36 * i}" y="{130 - 110 * n / top:.1f}" width="30" height="{110 * n / top:.1f}" fill="#4a7"/>'
        f'<text x="{35 + 36 * i}" y="145" font-size="10" text-anchor="middle">{10 * i}%</text>'
        f'<text x="{35 + 36 * i}" y="{125 - 110 * n / top:.1f}" font-size="10" text-anchor="middle">{n or ""}</text>'
        for i, n in enumerate(bins))
    return f'<svg width="400" height="150" role="img" aria-label="score histogram">{bars}</svg>'


def page(reports: list[dict]) -> str:
    e = html.escape
    n = len(reports)
    parts = [f"<!doctype html><meta charset='utf-8'><title>Grades</title><style>body{{font:14px sans-serif;"
             f"max-width:60em;margin:2em auto}}td,th{{padding:2px 8px;text-align:left}}</style>"
             f"<h1>Grades: {n} submission(s)</h1><h2>Scores (percent of the maximum)</h2>{_histogram(reports)}",
             "<h2>Exercises</h2><table><tr><th>lesson</th><th>exercise</th><th>passed</th><th>most frequent "
             "recognised mistakes</th></tr>"]
    for lesson, ex in _columns(reports):
        rows = [x for r in reports if r["lesson"] == lesson for x in r["exercises"] if x["id"] == ex]
        passed = sum(x["status"] == "passed" for x in rows)
        mistakes = Counter(m for x in rows for m in x.get("mistakes", [])).most_common(3)
        parts.append(f"<tr><td>{e(str(lesson))}</td><td>{e(ex)}</td><td>{passed} / {len(rows)} "
                     f"({100 * passed / max(len(rows), 1):.0f}%)</td><td>"
                     + ", ".join(f"{e(m)} ({c})" for m, c in mistakes) + "</td></tr>")
    parts.append("</table><h2>Flagged submissions (suspected tampering or sandbox events)</h2><ul>")
    flagged = [r for r in sorted(reports, key=_key) if r.get("suspected_tampering")]
    for r in flagged:
        kinds = sorted({f["kind"] for f in r.get("flags", [])} | set(r.get("sandbox", {}).get("events", [])))
        parts.append(f"<li>{e(Path(r['submission']).name)}: {e(', '.join(kinds))}</li>")
    parts.append("</ul>" + ("" if flagged else "<p>none</p>"))
    unsandboxed = sum(not r.get("sandbox", {}).get("sandboxed", False) for r in reports if r.get("sandbox"))
    if unsandboxed:
        parts.append(f"<p><strong>{unsandboxed} submission(s) were graded WITHOUT a sandbox.</strong></p>")
    return "".join(parts) + "\n"


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_all(json_path: Path, reports: list[dict], shard: str | None = None) -> list[Path]:
    """The JSON report and, beside it, ``.csv`` and ``.html`` of the same name; each written atomically."""
    json_path = Path(json_path)
    write_json(json_path, reports, shard=shard)
    if shard:
        return [json_path]
    csv_path, html_path = json_path.with_suffix(".csv"), json_path.with_suffix(".html")
    _atomic(csv_path, gradebook(reports))
    _atomic(html_path, page(reports))
    return [json_path, csv_path, html_path]


def shard(paths: list[Path], spec: str) -> list[Path]:
    """The K-th (1-based) of N deterministic slices of ``paths`` (sorted): every N-th from the K-th."""
    k, n = parse_shard(spec)
    return sorted(paths, key=str)[k - 1::n]


def parse_shard(spec: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects K/N such as 2/8, got {spec!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard K/N needs 1 <= K <= N, got {spec!r}")
    return k, n


def merge(shard_files: list[Path]) -> list[dict]:
    """The reports of all shards, in the order one run would give (sorted by submission)."""
    reports, seen = [], {}
    for f in shard_files:
        data = json.loads(Path(f).read_text(encoding="utf-8"))
        for r in data["submissions"]:
            if r["submission"] in seen:
                raise ValueError(f"{r['submission']} is in both {seen[r['submission']]} and {f}")
            seen[r["submission"]] = f
            reports.append(r)
    return sorted(reports, key=_key)
