"""IP management and contributor rewards under Chinese law (capabilities C5 and C6).

This first slice holds the reward law as data (``reference/reward_rules.csv`` and
``reference/net_income_rules.csv``), rule resolution and policy checks (:mod:`.rules`), and the
what-if calculator shared by ``shelfbridge rewards simulate`` and the ``/rewards/simulate`` page
(:mod:`.calculator`). Splitting an amount uses :func:`shelfbridge.core.money.allocate`.
"""
