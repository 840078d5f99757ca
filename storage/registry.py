"""Every table of the application on one metadata: what Alembic and the schema tests compare.

Importing a model module registers its tables on ``Base.metadata``; this module imports each
of them once, so whoever needs the whole schema imports this and nothing else.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from storage import (
    models,
    models_announcements,
    models_appeals,
    models_broadcast,
    models_campaigns,
    models_delivery,
    models_leases,
    models_officer_languages,
    models_open_answers,
    models_painmap,
    models_reporting,
    models_signals,
)
from storage.models_base import Base as Base

MODEL_MODULES = (
    models,
    models_announcements,
    models_appeals,
    models_broadcast,
    models_campaigns,
    models_delivery,
    models_leases,
    models_officer_languages,
    models_open_answers,
    models_painmap,
    models_reporting,
    models_signals,
)

metadata: MetaData = Base.metadata
