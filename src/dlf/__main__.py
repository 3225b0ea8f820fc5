"""``python -m dlf ...`` is the ``dlf`` command (handy under ``torchrun -m dlf run ...``)."""

import sys

from dlf.cli import main

sys.exit(main())
