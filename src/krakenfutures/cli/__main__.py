"""``python -m krakenfutures.cli``: the ``kf`` command without the console script."""

from krakenfutures.cli.main import main

main()
