"""Imports every model so that the metadata is complete (for migrations and checks)."""

from __future__ import annotations

from shelfbridge.accounts import models as _accounts  # noqa: F401
from shelfbridge.core import audit as _audit  # noqa: F401
from shelfbridge.core.database import Base
from shelfbridge.ip import fee_models as _ip_fees  # noqa: F401
from shelfbridge.ip import models as _ip  # noqa: F401
from shelfbridge.matching import models as _matching  # noqa: F401
from shelfbridge.registry import models as _registry  # noqa: F401

metadata = Base.metadata
