"""``python -m zanith_core.cli``: the same command as the ``zanith`` console script."""

from . import main

main(prog_name="zanith")
