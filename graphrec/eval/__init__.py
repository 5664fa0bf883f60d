"""Evaluation: metrics, leave-one-out full ranking, user-split retrieval with interest merging."""

from graphrec.eval.loo import evaluate_loo
from graphrec.eval.metrics import rank_metrics, target_ranks
from graphrec.eval.retrieval import multi_interest_topn
from graphrec.eval.user_protocol import evaluate_user_split

__all__ = ["evaluate_loo", "evaluate_user_split", "multi_interest_topn", "rank_metrics", "target_ranks"]
