"""`python -m services.api [serve]` runs the API; `python -m services.api keys create|revoke|list` manages keys."""

from __future__ import annotations

import sys

from services.api import cli

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
