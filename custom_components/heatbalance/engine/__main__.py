"""``python -m custom_components.heatbalance.engine`` runs the CLI."""

import sys

from .cli import main

sys.exit(main())
