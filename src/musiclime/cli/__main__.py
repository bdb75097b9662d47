"""``python -m musiclime.cli``: the ``musiclime`` command."""

from .app import main

main()
