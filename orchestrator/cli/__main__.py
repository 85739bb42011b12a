"""`python -m orchestrator.cli` is the `smd` command."""

import sys

from . import main

sys.exit(main())
