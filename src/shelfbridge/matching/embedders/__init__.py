"""Text → vectors. Built-in embedders register in :mod:`.base` like an outside one would."""
