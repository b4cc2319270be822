"""aiospaces: an async SDK for managing Hugging Face Spaces at fleet scale."""

from __future__ import annotations

from ._clock import Clock, SystemClock
from ._commit_models import CommitOperation, CommitOperationAdd, CommitOperationDelete
from ._config import VERSION as __version__
from ._ratelimit import RateLimitState
from ._transport import RetryPolicy
from .client import SpacesClient
from .errors import (
    AuthenticationError,
    BadRequestError,
    CommitConflictError,
    ConflictError,
    ConnectError,
    EntryNotFoundError,
    HubHTTPError,
    NotFoundError,
    OfflineModeError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    RepositoryNotFoundError,
    RequestTimeoutError,
    RevisionNotFoundError,
    ServerError,
    SpacesError,
    TransportError,
)
from .fleet import Fleet, FleetError, FleetReport, Outcome
from .models import (
    CommitInfo,
    DuplicatedRepoUrl,
    RepoUrl,
    SpaceHardware,
    SpaceHardwareInfo,
    SpaceInfo,
    SpaceRuntime,
    SpaceSecret,
    SpaceStage,
    SpaceStorage,
    SpaceVariable,
    Volume,
)

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "Clock",
    "CommitConflictError",
    "CommitInfo",
    "CommitOperation",
    "CommitOperationAdd",
    "CommitOperationDelete",
    "ConflictError",
    "ConnectError",
    "DuplicatedRepoUrl",
    "EntryNotFoundError",
    "Fleet",
    "FleetError",
    "FleetReport",
    "HubHTTPError",
    "NotFoundError",
    "OfflineModeError",
    "Outcome",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitState",
    "RateLimitedError",
    "RepoUrl",
    "RepositoryNotFoundError",
    "RequestTimeoutError",
    "RetryPolicy",
    "RevisionNotFoundError",
    "ServerError",
    "SpaceHardware",
    "SpaceHardwareInfo",
    "SpaceInfo",
    "SpaceRuntime",
    "SpaceSecret",
    "SpaceStage",
    "SpaceStorage",
    "SpaceVariable",
    "SpacesClient",
    "SpacesError",
    "SystemClock",
    "TransportError",
    "Volume",
    "__version__",
]
