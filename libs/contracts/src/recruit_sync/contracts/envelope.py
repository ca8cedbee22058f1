"""The envelope every message carries, and how a message is told apart from the ones it cannot read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Fields common to every event.

    ``type`` and ``version`` are declared as literals by each event so that a consumer refuses a
    message of another type or an unknown schema version at validation time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ROUTING_KEY: ClassVar[str]

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=utc_now)
    correlation_id: str | None = None
    causation_id: str | None = None

    def amqp_properties(self) -> dict[str, Any]:
        """Properties to publish with: message id = event id, correlation id, persistent delivery."""
        return {
            "message_id": str(self.event_id),
            "correlation_id": self.correlation_id,
            "persist": True,
            "message_type": f"{self.ROUTING_KEY}.v{self.model_fields_version()}",
        }

    def model_fields_version(self) -> int:
        version = getattr(self, "version", 1)
        return int(version)
