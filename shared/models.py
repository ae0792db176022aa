"""Imports every concept's tables so Alembic and SQLite's create_all see the whole schema."""

from shared.access.models import ApiKey, AuditEntry
from shared.core.db import Base
from shared.indicators.models import Indicator, IndicatorReportLevel, Plan
from shared.ingest.models import IdempotencyKey, IngestRun
from shared.observations.models import (
    IndicatorLevel,
    Observation,
    ObservationHistory,
    ObservationMonth,
    ObservationWrite,
    RollupMonth,
)
from shared.org_units.models import OrgUnit, OrgUnitAlias, OrgUnitPath
from shared.publications.models import Publication, PublicationDocument
from shared.ratings.models import Rating
from shared.revisions.models import DataRevision
from shared.schemes.models import (
    ItemExclusion,
    Scheme,
    SchemeGroup,
    SchemeItem,
    SchemeItemLead,
    SchemeMethod,
    SchemeSection,
    SchemeUnit,
)
from shared.scores.models import Assessment
from shared.targets.models import Target

__all__ = [
    "Assessment",
    "ItemExclusion",
    "Publication",
    "PublicationDocument",
    "Scheme",
    "SchemeGroup",
    "SchemeItem",
    "SchemeItemLead",
    "SchemeMethod",
    "SchemeSection",
    "SchemeUnit",
    "ApiKey",
    "AuditEntry",
    "Base",
    "IdempotencyKey",
    "Indicator",
    "IngestRun",
    "Observation",
    "ObservationHistory",
    "ObservationMonth",
    "ObservationWrite",
    "OrgUnit",
    "OrgUnitAlias",
    "OrgUnitPath",
    "Plan",
    "Rating",
    "Target",
    "IndicatorLevel",
    "IndicatorReportLevel",
    "DataRevision",
    "RollupMonth",
]
