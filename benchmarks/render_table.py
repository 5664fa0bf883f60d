"""Render every accuracy record in benchmarks/results/ into the README's results table.

Usage::

    python benchmarks/render_table.py            # rewrite the table in README.md
    python benchmarks/render_table.py --print    # print it instead

Three blocks of README.md are rewritten, each between its markers:

- ``results``: every leave-one-out record, test metrics history-masked and unmasked, beside
  the published S4Rec Table 2 numbers on the same data (those come from code that masks
  history, so compare them with the masked rows);
- ``results-user``: every user-split record beside HPCL4SR Table 2;
- ``results-summary``: the comparisons the methods' papers make (seeds averaged, ablations,
  sweeps), each row a mean over the records its pattern matches, with the difference to the
  section's first row. A row whose runs are missing says so.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import HPCL4SR_TABLE2, S4REC_TABLE2  # noqa: E402

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
USER_START, USER_END = "<!-- results-user:start -->", "<!-- results-user:end -->"
SUMMARY_START, SUMMARY_END = "<!-- results-summary:start -->", "<!-- results-summary:end -->"
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


def median_epoch_seconds(record: dict) -> float:
    """Median training seconds of one epoch, from the learning curve's cumulative seconds.

    A record without a curve falls back to ``train_seconds / epochs``.
    """
    cumulative = [float(point["train_seconds"]) for point in record.get("curve") or []]
    if not cumulative:
        return float(record.get("train_seconds", 0.0)) / max(record.get("epochs") or 1, 1)
    return statistics.median(b - a for a, b in zip([0.0] + cumulative[:-1], cumulative))


def made_under_load(record: dict) -> bool:
    """Whether the machine's load average exceeded its cores when the record was written."""
    machine = record.get("machine") or {}
    load = machine.get("load_average") or [0.0]
    return float(load[0]) > float(machine.get("cores") or 2)


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


#: (title, test view, metrics, rows of (label, record-name pattern)); the first row is the reference
SUMMARIES: list[tuple[str, str, list[str], list[tuple[str, str]]]] = [
    ("S4Rec family, Amazon Beauty, leave-one-out (history masked)", "masked",
     ["HR@5", "HR@20", "NDCG@5", "NDCG@20"], [
         ("S4Rec (full)", "s4rec_beauty_s20??"),
         ("SASRec, full CE", "sasrec_ce_beauty_s20??"),
         ("CL4SRec", "cl4srec_ce_beauty"),
         ("ICLRec", "iclrec_ce_beauty"),
         ("BERT4Rec", "bert4rec_beauty"),
         ("S4Rec: SR only", "s4rec_sr_beauty"),
         ("S4Rec: SR + CSD", "s4rec_sr_csd_beauty"),
         ("S4Rec: SR + CSD + GR, k-means", "s4rec_kmeans_beauty"),
         ("S4Rec w/o CSD", "s4rec_no_csd_beauty"),
         ("S4Rec w/o GR", "s4rec_no_gr_beauty"),
         ("S4Rec, K = 32", "s4rec_k32_beauty"),
         ("S4Rec, K = 256", "s4rec_k256_beauty"),
     ]),
    ("Head and tail users (longest 20 % of training sequences / the rest), Amazon Beauty, "
     "leave-one-out (history masked)", "masked",
     ["head HR@20", "tail HR@20", "head NDCG@20", "tail NDCG@20"], [
         ("S4Rec (full)", "s4rec_beauty_s20??"),
         ("SASRec, full CE", "sasrec_ce_beauty_s20??"),
         ("CL4SRec", "cl4srec_ce_beauty"),
         ("ICLRec", "iclrec_ce_beauty"),
         ("BERT4Rec", "bert4rec_beauty"),
         ("S4Rec w/o GR", "s4rec_no_gr_beauty"),
     ]),
    ("S4Rec family and DSSRec, Amazon Sports, leave-one-out (history masked)", "masked",
     ["HR@5", "HR@20", "NDCG@5", "NDCG@20"], [
         ("S4Rec", "s4rec_sports"),
         ("ICLRec", "iclrec_ce_sports"),
         ("DSSRec", "dssrec_sports"),
         ("SASRec, full CE", "sasrec_ce_sports"),
     ]),
    ("Multi-interest training recipes, Amazon Beauty, user split (one seed unless a pattern has more)",
     "unmasked", ["Recall@20", "Recall@50", "NDCG@20", "HR@20", "NDCG_comirec@20"], [
         ("SASRec (1 vector), full CE on every position", "sasrec_ce_beauty_user*"),
         ("ComiRec-SA, one prefix per row, sampled softmax (lr 5e-3)", "comirec_sa_beauty_user*"),
         ("ComiRec-SA, ComiRec's sampler, sampled softmax (lr 1e-3)", "comirec_sa_comirec_beauty_user"),
         ("ComiRec-SA, dense: every prefix, full CE", "comirec_sa_dense_beauty_user"),
         ("ComiRec-SA, dense, K = 1", "comirec_sa_dense_k1_beauty_user"),
         ("SASRec-MI, K = 4, dense", "sasrec_mi_beauty_user*"),
         ("SASRec-MI, K = 1, dense", "sasrec_mi_k1_beauty_user*"),
     ]),
    ("Multi-interest training recipes, Ta-Feng, user split", "unmasked",
     ["Recall@20", "Recall@50", "NDCG@20", "HR@20", "NDCG_comirec@20"], [
         ("SASRec (1 vector), full CE on every position", "sasrec_ce_tafeng_user"),
         ("ComiRec-SA, one prefix per row, sampled softmax (lr 5e-3)", "comirec_sa_tafeng_user*"),
         ("ComiRec-SA, ComiRec's sampler, sampled softmax (lr 1e-3)", "comirec_sa_comirec_tafeng_user"),
         ("ComiRec-SA, dense: every prefix, full CE", "comirec_sa_dense_tafeng_user"),
         ("SASRec-MI, K = 4, dense", "sasrec_mi_tafeng_user*"),
         ("SASRec-MI, K = 1, dense", "sasrec_mi_k1_tafeng_user*"),
     ]),
    ("HPCL4SR and the multi-interest baselines, Ta-Feng (the paper's data), user split", "unmasked",
     ["Recall@20", "Recall@50", "NDCG@20", "HR@20", "NDCG_comirec@20"], [
         ("HPCL4SR", "hpcl4sr_tafeng_user*"),
         ("ComiRec-SA", "comirec_sa_tafeng_user*"),
         ("ComiRec-DR", "comirec_dr_tafeng_user"),
         ("MIND", "mind_tafeng_user"),
         ("SASRec (1 vector)", "sasrec_ce_tafeng_user"),
         ("GRU4Rec (1 vector)", "gru4rec_ce_tafeng_user"),
     ]),
    ("HPCL4SR Table 3 rows, Ta-Feng, user split", "unmasked",
     ["Recall@20", "Recall@50", "NDCG@20", "HR@20"], [
         ("HPCL4SR (full)", "hpcl4sr_tafeng_user*"),
         ("base", "hpcl4sr_base_tafeng_user"),
         ("base + class", "hpcl4sr_base_class_tafeng_user"),
         ("fusion '+'", "hpcl4sr_fusion_add_tafeng_user"),
         ("fusion '*'", "hpcl4sr_fusion_mul_tafeng_user"),
         ("capsule regularisation", "hpcl4sr_capsule_reg_tafeng_user"),
         ("no margin", "hpcl4sr_no_margin_tafeng_user"),
         ("ComiRec-SA", "comirec_sa_tafeng_user*"),
         ("ComiRec-DR", "comirec_dr_tafeng_user"),
         ("SASRec (1 vector)", "sasrec_ce_tafeng_user"),
     ]),
    ("HPCL4SR Table 3 rows, Amazon Beauty, user split", "unmasked",
     ["Recall@20", "Recall@50", "NDCG@20", "HR@20"], [
         ("HPCL4SR (full)", "hpcl4sr_beauty_user*"),
         ("base", "hpcl4sr_base_beauty_user"),
         ("base + class", "hpcl4sr_base_class_beauty_user"),
         ("fusion '+'", "hpcl4sr_fusion_add_beauty_user"),
         ("fusion '*'", "hpcl4sr_fusion_mul_beauty_user"),
         ("capsule regularisation", "hpcl4sr_capsule_reg_beauty_user"),
         ("no margin", "hpcl4sr_no_margin_beauty_user"),
         ("ComiRec-DR", "comirec_dr_beauty_user"),
     ]),
    ("HPCL4SR and the baselines, Amazon Beauty, user split", "unmasked",
     ["Recall@20", "Recall@50", "NDCG@20", "HR@50"], [
         ("HPCL4SR", "hpcl4sr_beauty_user*"),
         ("ComiRec-SA", "comirec_sa_beauty_user*"),
         ("ComiRec-DR", "comirec_dr_beauty_user"),
         ("MIND", "mind_beauty_user"),
         ("SASRec (1 vector)", "sasrec_ce_beauty_user"),
         ("GRU4Rec (1 vector)", "gru4rec_ce_beauty_user"),
     ]),
    ("DSSRec and its ablations (DSIE beside it), Amazon Beauty, leave-one-out (history masked)", "masked",
     ["HR@5", "HR@20", "NDCG@5", "NDCG@20"], [
         ("DSSRec (full)", "dssrec_beauty_s20??"),
         ("w/o seq2seq", "dssrec_no_s2s_beauty"),
         ("no selection (λ = 1)", "dssrec_keep_all_beauty"),
         ("K = 1", "dssrec_k1_beauty"),
         ("s2s negatives from other rows", "dssrec_other_rows_beauty"),
         ("other rows, s2s weight 1", "dssrec_other_rows_w1_beauty"),
         ("SASRec, full CE", "sasrec_ce_beauty_s20??"),
         ("DSIE (leave-one-out run)", "dsie_beauty_loo"),
     ]),
    ("DSIE, Amazon Beauty, user split", "unmasked",
     ["Recall@20", "Recall@50", "NDCG@50", "HR@50", "Novelty@50"], [
         ("DSIE (K = 4, τ = 0.1)", "dsie_beauty_user_s20??"),
         ("w/o global scale", "dsie_no_global_beauty_user"),
         ("w/o shuffle contrast", "dsie_no_cl_beauty_user"),
         ("K = 1", "dsie_k1_beauty_user"),
         ("K = 2", "dsie_k2_beauty_user"),
         ("K = 6", "dsie_k6_beauty_user"),
         ("τ = 0.05", "dsie_tau0.05_beauty_user"),
         ("τ = 1", "dsie_tau1.0_beauty_user"),
         ("ComiRec-SA", "comirec_sa_beauty_user*"),
         ("ComiRec-DR", "comirec_dr_beauty_user"),
         ("SASRec (1 vector)", "sasrec_ce_beauty_user"),
     ]),
    ("HPCL4SR, DSIE and the baselines, Amazon Sports, user split", "unmasked",
     ["Recall@20", "Recall@50", "NDCG@20", "HR@50", "Novelty@50"], [
         ("HPCL4SR", "hpcl4sr_sports_user"),
         ("DSIE", "dsie_sports_user"),
         ("ComiRec-SA", "comirec_sa_sports_user"),
         ("ComiRec-DR", "comirec_dr_sports_user"),
         ("SASRec (1 vector)", "sasrec_ce_sports_user"),
     ]),
]


def _test_metrics(record: dict, view: str) -> dict:
    """Test metrics of one view (``masked``/``unmasked``): novelty and diversity included, and
    the head and tail users' metrics as ``"head HR@20"`` / ``"tail HR@20"``."""
    metrics = {**record["test"][view], **((record.get("test_beyond") or {}).get(view) or {})}
    groups = (record.get("test_by_group") or {}).get(view) or {}
    for group in ("head", "tail"):
        metrics.update({f"{group} {name}": value for name, value in (groups.get(group) or {}).items()})
    return metrics


def _signed(value: float) -> str:
    """``+0.0012`` / ``−0.0012``; a difference that rounds to zero is ``0.0000``."""
    text = f"{value:+.4f}"
    return "0.0000" if float(text) == 0.0 else text.replace("-", "−")


def render_summary(records: list[dict]) -> str:
    """One table per :data:`SUMMARIES` entry: mean over matched runs (n, spread), Δ to row one."""
    by_name = {r["name"]: r for r in records}
    blocks = []
    for title, view, metrics, rows in SUMMARIES:
        lines = [f"**{title}**", "",
                 "| row | runs | " + " | ".join(metrics) + " | "
                 + " | ".join(f"Δ {m}" for m in metrics) + " | median s / epoch | training to best |",
                 "|" + "---|" * (2 * len(metrics) + 4)]
        reference: dict | None = None
        for index, (label, pattern) in enumerate(rows):
            matched = [by_name[n] for n in sorted(fnmatch.filter(by_name, pattern))]
            if not matched:
                lines.append(f"| {label} | not run yet (`{pattern}`) |" + " |" * (2 * len(metrics) + 2))
                continue
            tested = [_test_metrics(r, view) for r in matched]
            values = {m: [t.get(m) for t in tested] for m in metrics}
            mean = {m: (sum(v) / len(v) if None not in v else None) for m, v in values.items()}
            cells = []
            for m in metrics:
                spread = (f" ± {(max(values[m]) - min(values[m])) / 2:.4f}"
                          if len(matched) > 1 and mean[m] is not None else "")
                cells.append(_fmt(mean[m]) + spread)
            if index == 0:
                reference = mean
                deltas = ["ref"] * len(metrics)
            else:
                deltas = [_signed(mean[m] - reference[m])
                          if reference is not None and None not in (mean[m], reference[m]) else "–"
                          for m in metrics]
            per_epoch = sum(median_epoch_seconds(r) for r in matched) / len(matched)
            flag = " (loaded)" if any(made_under_load(r) for r in matched) else ""
            to_best = sum(_seconds_to_best(r) for r in matched) / len(matched) / 60
            lines.append(f"| {label} | {len(matched)} | " + " | ".join(cells) + " | " + " | ".join(deltas)
                         + f" | {per_epoch:.0f}{flag} | {to_best:.1f} min |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


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
    blocks = {(START, END): render(records), (USER_START, USER_END): render_user(records),
              (SUMMARY_START, SUMMARY_END): render_summary(records)}
    if args.print:
        print("\n\n".join(blocks.values()))
        return 0
    text = README.read_text()
    for (start, end), table in blocks.items():
        if start not in text or end not in text:
            print(f"{README}: no {start} ... {end} markers", file=sys.stderr)
            return 1
        text = _replace(text, start, end, table)
    README.write_text(text)
    print(f"wrote {len(records)} records into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
