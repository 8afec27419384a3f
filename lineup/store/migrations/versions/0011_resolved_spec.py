"""Each generation keeps the full spec its model stood for when the answer was made
(`resolved_spec`) beside the model as the person named it (`model_spec`: a spec, or a name
from backends.toml). Old rows get the spec they already hold, with any credentials in its URL
hidden as `***` (rows stored before such specs were refused may hold them).

SQLite cannot add a NOT NULL column without a default, and rebuilding the table would run
with foreign keys on (a cascade, see 0004), so the column is added with the default '' and
filled at once; on PostgreSQL the default is dropped after the fill. The store always
writes it. The URL rule is frozen here (a copy of backends.spec.redact_url as of this
revision), so this migration never changes when live code does.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MODEL_SPEC_MAX_CHARS = 512
_URL_AT = re.compile(r"@(?=[a-zA-Z][a-zA-Z0-9+.-]*://)")


def upgrade() -> None:
    op.add_column(
        "generations",
        sa.Column(
            "resolved_spec",
            sa.String(MODEL_SPEC_MAX_CHARS),
            nullable=False,
            server_default=sa.text("''"),
        ),
    )
    op.execute("UPDATE generations SET resolved_spec = model_spec")
    connection = op.get_bind()
    with_url = connection.execute(
        sa.text(
            "SELECT DISTINCT model_spec FROM generations WHERE model_spec LIKE '%://%' "
            "AND (model_spec LIKE '%://%@%' OR model_spec LIKE '%?%')"
        )
    ).scalars()
    for spec in list(with_url):
        hidden = _hide_credentials(spec)
        if hidden != spec:
            connection.execute(
                sa.text("UPDATE generations SET resolved_spec = :hidden WHERE model_spec = :spec"),
                {"hidden": hidden, "spec": spec},
            )
    if connection.dialect.name == "postgresql":
        op.alter_column("generations", "resolved_spec", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("resolved_spec")


def _hide_credentials(spec: str) -> str:
    at = _URL_AT.search(spec)
    return spec if at is None else spec[: at.end()] + _redact_url(spec[at.end() :])


def _redact_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority_end = min(
        (i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest)
    )
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    path, qmark, query = tail.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        names = [pair.split("=", 1)[0] for pair in query.split("&")]
        query = "&".join(f"{name}=***" for name in names) + hash_ + fragment
    return f"{scheme}{sep}{authority}{path}{qmark}{query}"
