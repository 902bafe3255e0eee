"""Matching (C2): demands ⇄ results ⇄ experts and labs, bilingual, explained.

Layers, each behind a declared interface so outside ones register the same way:

- ``analysis``   text → terms (jieba for Chinese, stemmed English), used by lexical scoring
                 and by explanations;
- ``embedders``  text → vectors in one multilingual space (:class:`embedders.base.Embedder`);
- ``index``      where documents live and how candidates are fetched
                 (:class:`index.base.IndexBackend`: the embedded default and Milvus);
- ``ranking``    fusion, pseudo-relevance feedback and explanations, pure functions;
- ``documents``  registry records → :class:`types.MatchDocument`;
- ``service``    who may see what, filters, the public entry points used by API, pages and CLI.
"""
