"""The application layer: an experiment's configuration, its protocol, the runner and run loading.

Import order (each imports only those before it): :mod:`~graphrec.experiment.protocols`,
:mod:`~graphrec.experiment.config`, :mod:`~graphrec.experiment.prepare`,
:mod:`~graphrec.experiment.runs`, :mod:`~graphrec.experiment.runner`.
"""
