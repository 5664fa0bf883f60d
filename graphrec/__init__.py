"""graphrec: multi-interest sequential recommendation framed as graph problems."""

__version__ = "0.1.0"
