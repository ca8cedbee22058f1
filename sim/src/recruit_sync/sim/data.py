"""The simulator's seed: the data file of INTERFACE.md "Simulator data file" plus generated candidates."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from recruit_sync.sim.generate import DEFAULT_SEED

DEFAULT_OAUTH = {"client_id": "cid", "client_secret": "secret", "refresh_token": "rt"}
DEFAULT_TOKEN_TTL = 3600


class DataFileError(ValueError):
    """The data file cannot be used; the message names the key and the problem."""


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str
    refresh_token: str


@dataclass
class SimData:
    """Everything the simulator starts from (and returns to on `POST /_sim/reset`).

    Build it with `SimData.load(path, generate=N)` (path None: no file) or `SimData.from_dict(doc)`.
    """

    modules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    custom_views: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # labels of custom modules, e.g. {"CustomModule1": {"plural_label": "Referrals", "singular_label": ...}}
    module_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    oauth: OAuthConfig = field(default_factory=lambda: OAuthConfig(**DEFAULT_OAUTH))
    token_ttl: int = DEFAULT_TOKEN_TTL
    generate: int = 0
    seed: int = DEFAULT_SEED
    source: Path | None = None
    document: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None, generate: int = 0, seed: int = DEFAULT_SEED) -> SimData:
        """Read a data file (None: start empty) and add `generate` synthetic candidates."""
        if path is None:
            return cls.from_dict({}, generate=generate, seed=seed)
        source = Path(path)
        try:
            document = orjson.loads(source.read_bytes())
        except OSError as exc:
            raise DataFileError(f"cannot read data file {source}: {exc.strerror}") from exc
        except orjson.JSONDecodeError as exc:
            raise DataFileError(f"data file {source} is not JSON: {exc}") from exc
        return cls.from_dict(document, generate=generate, seed=seed, source=source)

    @classmethod
    def from_dict(
        cls,
        document: dict[str, Any],
        generate: int = 0,
        seed: int = DEFAULT_SEED,
        source: Path | None = None,
    ) -> SimData:
        if not isinstance(document, dict):
            raise DataFileError("data file: the top level must be an object")
        if generate < 0:
            raise DataFileError("generate must be >= 0")
        document = copy.deepcopy(document)
        modules = _module_lists(document, "modules")
        for module, records in modules.items():
            for n, record in enumerate(records):
                if not isinstance(record.get("id"), str | int):
                    raise DataFileError(f"data file: modules.{module}[{n}] has no id")
                record["id"] = str(record["id"])
        views = _module_lists(document, "custom_views")
        for module, module_views in views.items():
            for n, view in enumerate(module_views):
                if "id" not in view or not isinstance(view.get("record_ids", []), list):
                    raise DataFileError(f"data file: custom_views.{module}[{n}] needs id and record_ids")
        deleted = _module_lists(document, "deleted")
        for module, items in deleted.items():
            for n, item in enumerate(items):
                if "id" not in item or not isinstance(item.get("deleted_time"), str):
                    raise DataFileError(f"data file: deleted.{module}[{n}] needs id and deleted_time")
        module_labels = document.get("module_labels") or {}
        if not isinstance(module_labels, dict) or not all(
            isinstance(labels, dict) and all(isinstance(v, str) and v for v in labels.values())
            for labels in module_labels.values()
        ):
            raise DataFileError("data file: module_labels must map module API names to objects of labels")
        oauth = document.get("oauth") or {}
        if not isinstance(oauth, dict) or not all(isinstance(oauth.get(k, ""), str) for k in DEFAULT_OAUTH):
            raise DataFileError("data file: oauth must be an object of strings")
        token_ttl = document.get("token_ttl", DEFAULT_TOKEN_TTL)
        if not isinstance(token_ttl, int) or token_ttl <= 0:
            raise DataFileError("data file: token_ttl must be a positive integer (seconds)")
        return cls(
            modules=modules,
            custom_views=views,
            deleted=deleted,
            module_labels=module_labels,
            oauth=OAuthConfig(**{k: oauth.get(k, v) for k, v in DEFAULT_OAUTH.items()}),
            token_ttl=token_ttl,
            generate=generate,
            seed=seed,
            source=source,
            document=document,
        )

    def reload(self) -> SimData:
        """A fresh copy of the starting data: the file read again, or the same document."""
        if self.source is not None:
            return SimData.load(self.source, generate=self.generate, seed=self.seed)
        return SimData.from_dict(self.document, generate=self.generate, seed=self.seed)


def _module_lists(document: dict[str, Any], key: str) -> dict[str, list[dict[str, Any]]]:
    section = document.get(key) or {}
    if not isinstance(section, dict):
        raise DataFileError(f"data file: {key} must be an object keyed by module API name")
    for module, items in section.items():
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise DataFileError(f"data file: {key}.{module} must be a list of objects")
    return {module: list(items) for module, items in section.items()}
