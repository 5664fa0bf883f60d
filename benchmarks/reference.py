"""Published reference numbers on the exact data in ../shared/data (leave-one-out, full ranking).

Source: S4Rec (WWW 2024) Table 2 (GRU4Rec and BERT4Rec from the paper, the rest as transcribed
in ``shared/data/README.md``); those
numbers come from the S3Rec/ICLRec code family, which masks the user's earlier
items before ranking, so they compare with graphrec's history-masked rows.
"""

from __future__ import annotations

#: (model, dataset) -> {metric: value}; metrics HR@5, HR@20, NDCG@5, NDCG@20
S4REC_TABLE2: dict[tuple[str, str], dict[str, float]] = {
    ("gru4rec", "amazon-beauty"): {"HR@5": .0111, "HR@20": .0478, "NDCG@5": .0058, "NDCG@20": .0104},
    ("sasrec", "amazon-beauty"): {"HR@5": .0374, "HR@20": .0901, "NDCG@5": .0241, "NDCG@20": .0387},
    ("bert4rec", "amazon-beauty"): {"HR@5": .0360, "HR@20": .0984, "NDCG@5": .0216, "NDCG@20": .0391},
    ("dssrec", "amazon-beauty"): {"HR@5": .0410, "HR@20": .0914, "NDCG@5": .0261, "NDCG@20": .0403},
    ("cl4srec", "amazon-beauty"): {"HR@5": .0423, "HR@20": .0994, "NDCG@5": .0281, "NDCG@20": .0441},
    ("iclrec", "amazon-beauty"): {"HR@5": .0475, "HR@20": .1050, "NDCG@5": .0316, "NDCG@20": .0478},
    ("s4rec", "amazon-beauty"): {"HR@5": .0519, "HR@20": .1071, "NDCG@5": .0348, "NDCG@20": .0505},
    ("gru4rec", "amazon-sports"): {"HR@5": .0162, "HR@20": .0421, "NDCG@5": .0103, "NDCG@20": .0186},
    ("sasrec", "amazon-sports"): {"HR@5": .0206, "HR@20": .0497, "NDCG@5": .0135, "NDCG@20": .0216},
    ("bert4rec", "amazon-sports"): {"HR@5": .0217, "HR@20": .0604, "NDCG@5": .0143, "NDCG@20": .0251},
    ("dssrec", "amazon-sports"): {"HR@5": .0214, "HR@20": .0495, "NDCG@5": .0142, "NDCG@20": .0220},
    ("cl4srec", "amazon-sports"): {"HR@5": .0217, "HR@20": .0540, "NDCG@5": .0137, "NDCG@20": .0227},
    ("iclrec", "amazon-sports"): {"HR@5": .0267, "HR@20": .0644, "NDCG@5": .0177, "NDCG@20": .0283},
    ("s4rec", "amazon-sports"): {"HR@5": .0284, "HR@20": .0656, "NDCG@5": .0181, "NDCG@20": .0292},
}

#: HPCL4SR (World Wide Web 2024) Table 2 on Ta-Feng, user split, as fractions (the paper prints %);
#: its NDCG follows ComiRec's released code (graphrec's ``NDCG_comirec@N``), not the standard formula
HPCL4SR_TABLE2: dict[tuple[str, str], dict[str, float]] = {
    ("hpcl4sr", "tafeng"): {"Recall@20": .1038, "Recall@50": .1714, "HR@20": .4835, "HR@50": .6227,
                            "NDCG_comirec@20": .2287, "NDCG_comirec@50": .2616},
    ("remi", "tafeng"): {"Recall@20": .0993, "Recall@50": .1631},
    ("gru4rec", "tafeng"): {"Recall@20": .0564},
    ("mind", "tafeng"): {"Recall@20": .0468},
    ("comirec", "tafeng"): {"Recall@20": .0558},
}

#: public reproductions of SASRec trained with full cross-entropy on Beauty (HR@10, NDCG@10)
SASREC_CE_BEAUTY = {"HR@10": .092, "NDCG@10": .053}

#: the strongest released runs on the same Beauty/Sports (S3Rec preprocessing, leave-one-out, all
#: items ranked, history masked by zeroing scores): (model, dataset) -> metrics, from the released
#: logs (WEARec ``src/output/*.log``; BSARec ``src/output/BSARec_Beauty_best.log`` and, for Sports,
#: its paper's table)
RELEASED_LOGS: dict[tuple[str, str], dict[str, float]] = {
    ("wearec", "amazon-beauty"): {"HR@5": .0738, "HR@10": .1041, "HR@20": .1391, "NDCG@5": .0516,
                                  "NDCG@10": .0614, "NDCG@20": .0703},
    ("bsarec", "amazon-beauty"): {"HR@5": .0736, "HR@10": .1008, "HR@20": .1373, "NDCG@5": .0523,
                                  "NDCG@10": .0611, "NDCG@20": .0703},
    ("wearec", "amazon-sports"): {"HR@5": .0433, "HR@10": .0631, "HR@20": .0895, "NDCG@5": .0302,
                                  "NDCG@10": .0367, "NDCG@20": .0433},
    ("bsarec", "amazon-sports"): {"HR@5": .0426, "HR@10": .0612, "HR@20": .0858},
}
