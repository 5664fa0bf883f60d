"""Training: one generic trainer, configuration, checkpoints, distributed runs, experiments."""
