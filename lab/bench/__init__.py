"""``make bench``: see ``lab/bench/__main__.py``."""
