"""``python -m jazari_nlp.cli`` is the ``jazari`` command (as ``python -m jazari_nlp`` is): for launchers that
take a module, e.g. ``torchrun --nproc_per_node 2 -m jazari_nlp.cli run CONFIG``."""

from jazari_nlp.cli import main

main()
