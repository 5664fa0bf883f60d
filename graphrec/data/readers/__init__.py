"""Readers for ready-made formats: S3Rec/ICLRec text, RecBole atomic files, generic tables."""
