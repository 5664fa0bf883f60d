"""``python -m graphrec ...`` is the ``graphrec`` command."""

from graphrec.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
