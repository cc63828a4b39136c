"""``python -m jazari_nlp`` is the ``jazari`` command."""

from jazari_nlp.cli import main

main()
