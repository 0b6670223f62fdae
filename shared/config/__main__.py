"""``python -m shared.config``: the README's configuration table, rendered from the declarations."""

from shared.config import SETTINGS
from shared.config.fields import markdown

print(markdown(SETTINGS), end="")
