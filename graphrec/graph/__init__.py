"""Graph construction (category, item-transition, session graphs) and analysis.

Builders are pure, deterministic and vectorised; global graphs only ever see
training interactions (:func:`training_csr`).
"""

from graphrec.graph.category import category_graph
from graphrec.graph.io import load_graph, save_graph
from graphrec.graph.normalize import degree_normalize, normalized_category_graph
from graphrec.graph.session import session_graphs
from graphrec.graph.training import TrainingCSR, training_csr
from graphrec.graph.transition import item_transition_graph

__all__ = [
    "TrainingCSR",
    "category_graph",
    "degree_normalize",
    "item_transition_graph",
    "load_graph",
    "normalized_category_graph",
    "save_graph",
    "session_graphs",
    "training_csr",
]
