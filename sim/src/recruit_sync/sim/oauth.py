"""The simulator's own accounts server: refresh-token grant and access-token checks."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from recruit_sync.sim.data import OAuthConfig

TOKEN_PREFIX = "Zoho-oauthtoken "


class OAuthServer:
    def __init__(self, config: OAuthConfig, token_ttl: int, clock: Callable[[], float]) -> None:
        self.config = config
        self.token_ttl = token_ttl
        self.clock = clock
        self.tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.issued = 0

    def grant(self, form: dict[str, str], api_domain: str) -> tuple[int, dict[str, Any]]:
        """Answer `POST /oauth/v2/token`: (HTTP status, JSON body)."""
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        config = self.config
        if form.get("client_id") != config.client_id or form.get("client_secret") != config.client_secret:
            return 400, {"error": "invalid_client"}
        if form.get("refresh_token") != self.config.refresh_token:
            return 400, {"error": "invalid_code"}
        token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self.tokens[token] = self.clock() + self.token_ttl
        self.issued += 1
        body = {
            "access_token": token,
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
        }
        return 200, body

    def authorized(self, header: str | None) -> bool:
        """Whether an `Authorization` header carries a live access token."""
        if not header or not header.startswith(TOKEN_PREFIX):
            return False
        expiry = self.tokens.get(header[len(TOKEN_PREFIX) :].strip())
        return expiry is not None and self.clock() < expiry

    def reconfigure(self, config: OAuthConfig, token_ttl: int) -> None:
        """Accept new credentials; tokens already issued stay valid."""
        self.config = config
        self.token_ttl = token_ttl

    def expire_tokens(self) -> None:
        self.tokens.clear()
