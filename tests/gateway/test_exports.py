from __future__ import annotations

import parity.gateway


def test_public_surface() -> None:
    assert set(parity.gateway.__all__) == {
        "POLICIES", "Candidate", "EjectionSettings", "GatewayConfig", "ModelAlias", "RoutingPolicy",
        "ServerSettings", "VerifiedBounds", "binomial_tail", "create_app", "hash_key",
        "load_gateway_config", "parse_gateway_config", "register_policy", "uvicorn_config",
    }
