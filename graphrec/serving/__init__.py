"""A trained run as a self-contained folder (``graphrec export``) and an HTTP service over it
(``graphrec serve``, the optional ``serve`` extra)."""
