"""``python -m masbot`` is the same as the ``masbot`` console script."""

import sys

from masbot.cli import main

sys.exit(main())
