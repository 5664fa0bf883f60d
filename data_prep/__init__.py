"""Converters from raw public dumps to the canonical graphrec dataset."""
