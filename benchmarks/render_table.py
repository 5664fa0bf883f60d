"""Render every accuracy record in benchmarks/results/ into the README's results table.

Usage::

    python benchmarks/render_table.py            # rewrite the table in README.md
    python benchmarks/render_table.py --print    # print it instead

The table sits between ``<!-- results:start -->`` and ``<!-- results:end -->``.
Rows are our measured test metrics (history-masked and unmasked) beside the
published S4Rec Table 2 numbers on the same data (those come from code that masks
history, so compare them with the masked rows).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import HPCL4SR_TABLE2, S4REC_TABLE2  # noqa: E402

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
USER_START, USER_END = "<!-- results-user:start -->", "<!-- results-user:end -->"
METRICS = ["HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20"]
#: user-split columns; NDCG_comirec is ComiRec's released formula (what HPCL4SR reports)
USER_METRICS = ["Recall@20", "Recall@50", "HR@20", "HR@50", "NDCG@20", "NDCG@50", "NDCG_comirec@20",
                "Novelty@20"]


def load_records(results_dir: Path) -> list[dict]:
    records = []
    for path in sorted(results_dir.glob("*.json")):
        record = json.loads(path.read_text())
        if record.get("kind") == "accuracy":
            records.append(record)
    return records


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _seconds_to_best(record: dict) -> float:
    """Training seconds up to the selected epoch (from the learning curve), else the total."""
    for point in record.get("curve") or []:
        if point["epoch"] == record.get("best_epoch"):
            return float(point["train_seconds"])
    return float(record.get("train_seconds", 0.0))


def render(records: list[dict]) -> str:
    head = ("| dataset | model | loss | protocol | history | " + " | ".join(METRICS)
            + " | best / run epochs | training to best | source |")
    lines = [head, "|" + "---|" * (len(METRICS) + 8)]
    records = [r for r in records if r.get("protocol", "loo") == "loo"]
    order = sorted(records, key=lambda r: (r["dataset"], r["model"], r.get("label", "")))
    for dataset in sorted({r["dataset"] for r in records}):
        for r in (r for r in order if r["dataset"] == dataset):
            for masked in (True, False):
                metrics = r["test"]["masked" if masked else "unmasked"]
                minutes = _seconds_to_best(r) / 60
                lines.append(
                    f"| {dataset} | {r['model']} | {r.get('label', '')} | {r['protocol']} | "
                    f"{'masked' if masked else 'unmasked'} | "
                    + " | ".join(_fmt(metrics.get(m)) for m in METRICS)
                    + f" | {r.get('best_epoch', '')} / {r.get('epochs', '')} | {minutes:.1f} min"
                    f" | `{r['name']}.json` |"
                )
        for (model, ref_dataset), ref in sorted(S4REC_TABLE2.items()):
            if ref_dataset == dataset:
                lines.append(
                    f"| {dataset} | {model} | paper | loo | masked | "
                    + " | ".join(_fmt(ref.get(m)) for m in METRICS)
                    + " | | | S4Rec Table 2 |"
                )
    return "\n".join(lines)


def render_user(records: list[dict]) -> str:
    """The user-split table: unmasked test metrics (the protocol's convention), paper rows beside."""
    head = ("| dataset | model | label | " + " | ".join(USER_METRICS)
            + " | best / run epochs | training to best | source |")
    lines = [head, "|" + "---|" * (len(USER_METRICS) + 6)]
    records = [r for r in records if r.get("protocol") == "user"]
    order = sorted(records, key=lambda r: (r["dataset"], r["model"], r.get("label", "")))
    datasets = sorted({r["dataset"] for r in records} | {d for _, d in HPCL4SR_TABLE2})
    for dataset in datasets:
        for r in (r for r in order if r["dataset"] == dataset):
            metrics = {**r["test"]["unmasked"], **(r.get("test_beyond", {}).get("unmasked") or {})}
            minutes = _seconds_to_best(r) / 60
            lines.append(
                f"| {dataset} | {r['model']} | {r.get('label', '')} | "
                + " | ".join(_fmt(metrics.get(m)) for m in USER_METRICS)
                + f" | {r.get('best_epoch', '')} / {r.get('epochs', '')} | {minutes:.1f} min"
                f" | `{r['name']}.json` |"
            )
        for (model, ref_dataset), ref in sorted(HPCL4SR_TABLE2.items()):
            if ref_dataset == dataset:
                lines.append(f"| {dataset} | {model} | paper | "
                             + " | ".join(_fmt(ref.get(m)) for m in USER_METRICS)
                             + " | | | HPCL4SR Table 2 |")
    return "\n".join(lines)


def _replace(text: str, start: str, end: str, table: str) -> str:
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{table}\n{end}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--print", action="store_true", help="print the table instead of editing README.md")
    args = parser.parse_args(argv)
    records = load_records(args.results)
    table, user_table = render(records), render_user(records)
    if args.print:
        print(table + "\n\n" + user_table)
        return 0
    text = README.read_text()
    for start, end in ((START, END), (USER_START, USER_END)):
        if start not in text or end not in text:
            print(f"{README}: no {start} ... {end} markers", file=sys.stderr)
            return 1
    text = _replace(text, START, END, table)
    README.write_text(_replace(text, USER_START, USER_END, user_table))
    print(f"wrote {len(records)} records into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
