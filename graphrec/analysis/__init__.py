"""Analyses of trained runs (e.g. the head rate of learned intent clusters, S4Rec Fig. 3)."""

from graphrec.analysis.head_rate import cluster_head_rates, head_rate_report, write_head_rate

__all__ = ["cluster_head_rates", "head_rate_report", "write_head_rate"]
