"""What ``connection.add`` and ``connection.rekey`` accept (pure validation; secrets stay plain here)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


class NewConnection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    base_url: str
    accounts_url: str
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1)
    primary_email: str | None = None
    daily_credit_budget: int | None = Field(default=None, ge=1)

    @field_validator("base_url", "accounts_url")
    @classmethod
    def _is_http_url(cls, value: str) -> str:
        return _http_url(value)


class Rekey(BaseModel):
    """New credentials for a connection; any change deactivates its syncs (SPEC section 7)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1)
    refresh_token: str | None = Field(default=None, min_length=1)
    client_id: str | None = Field(default=None, min_length=1)
    client_secret: str | None = Field(default=None, min_length=1)
    primary_email: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _changes_something(self) -> Rekey:
        if not self.model_fields_set - {"name"}:
            raise ValueError("give at least one of refresh_token, client_id, client_secret, primary_email")
        return self
