"""The cluster's passwords: made once by `up`, kept in credentials.json (mode 0600, root only).

PostgreSQL accepts TCP connections only with scram-sha-256 passwords, and Patroni's REST API
asks for a password on the calls that change the cluster (switchover, restart…). The admin
account's password is set when `up` first creates that account.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from aloft.cluster.errors import ClusterError


def _password() -> str:
    # Hex only: safe inside URLs, YAML and supervisord's environment= without quoting rules.
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Credentials:
    superuser: str
    replication: str
    rewind: str
    app: str
    restapi: str
    admin: str | None = None

    @classmethod
    def generate(cls) -> Credentials:
        return cls(_password(), _password(), _password(), _password(), _password())

    def with_admin(self) -> Credentials:
        return replace(self, admin=_password())

    def save(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(self), out, indent=2)
            out.write("\n")
        path.chmod(0o600)

    @classmethod
    def load(cls, path: Path) -> Credentials:
        try:
            return cls(**json.loads(path.read_text()))
        except PermissionError:
            raise ClusterError(f"cannot read {path}: run as root") from None
        except (OSError, ValueError, TypeError) as exc:
            raise ClusterError(f"cannot read the cluster's credentials in {path}: {exc}") from None

    @classmethod
    def load_or_create(cls, path: Path) -> Credentials:
        if path.exists():
            return cls.load(path)
        created = cls.generate()
        created.save(path)
        return created
