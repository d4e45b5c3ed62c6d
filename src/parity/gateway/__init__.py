"""The gateway: routes live traffic only to endpoints that serve the model well."""

from ._app import create_app
from ._auth import hash_key
from ._config import (
    EjectionSettings,
    GatewayConfig,
    ModelAlias,
    ServerSettings,
    VerifiedBounds,
    WatchSettings,
    load_gateway_config,
    parse_gateway_config,
)
from ._ejection import binomial_tail
from ._policy import POLICIES, Candidate, RoutingPolicy, register_policy
from ._serve import uvicorn_config

__all__ = [
    "POLICIES",
    "Candidate",
    "EjectionSettings",
    "GatewayConfig",
    "ModelAlias",
    "RoutingPolicy",
    "ServerSettings",
    "VerifiedBounds",
    "WatchSettings",
    "binomial_tail",
    "create_app",
    "hash_key",
    "load_gateway_config",
    "parse_gateway_config",
    "register_policy",
    "uvicorn_config",
]
