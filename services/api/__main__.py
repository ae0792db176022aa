"""`python -m services.api [serve]` runs the API; `keys create|revoke|list` manages keys;
`org-units import FILE [--prefix 150200]` imports an official division list."""

from __future__ import annotations

import sys

from services.api import cli

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
