"""The one redaction: passwords masked by their shape, in text no parser accepts, and pieces of them
scrubbed from the messages a driver makes of a URL."""

import pytest

from zanith_core.redaction import mask_url


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql:/app:s3cret@db/prod", "postgresql:/app:***@db/prod"),
        ("POSTGRESQL://app:s3cret@db/prod", "POSTGRESQL://app:***@db/prod"),
        ("postgresql//app:s3cret@db/prod", "postgresql//app:***@db/prod"),
        ("postgresql://app:s3 cret@db/prod", "postgresql://app:***@db/prod"),
        ("postgresql://app:s3@cret@db/prod", "postgresql://app:***@db/prod"),
        ("postgresql://app:s3cret/prod", "postgresql://app:***/prod"),
        (
            "postgresql://app@db/prod?password=s3cret&sslmode=require",
            "postgresql://app@db/prod?password=***&sslmode=require",
        ),
        ("host=db password=s3 cret dbname=prod", "host=db password=*** dbname=prod"),
        ("host=db password='s3 \\' cret' dbname=prod", "host=db password=*** dbname=prod"),
        ("host=db password='s3cret dbname=prod", "host=db password=***"),
        ("host=db sslpassword=s3cret", "host=db sslpassword=***"),
        ("host=db passwrod=s3cret dbname=prod", "host=db passwrod=*** dbname=prod"),
        ("host=db user=app s3cret dbname=prod", "host=db user=app *** dbname=prod"),
        (
            "postgresql://app@db/prod?pasword=s3cret&sslmode=require",
            "postgresql://app@db/prod?pasword=***&sslmode=require",
        ),
        ("postgresql://app@db/prod?s3cret", "postgresql://app@db/prod?***"),
        ("postgresql://app:pw@db/prod#s3cret", "postgresql://app:***@db/prod#***"),
        ("postgresqH:=/app:s3cret@db/prod", "postgresqH:=/app:***@db/prod"),
        ("postgresql://app:s3cret127.0.0.1:5432/prod", "postgresql://app:***/prod"),
        (
            'missing "=" after "postgresql:/app:s3cret@db/prod" in connection info string',
            'missing "=" after "postgresql:/app:***@db/prod" in connection info string',
        ),
    ],
)
def test_passwords_are_masked_whatever_the_spelling(text: str, masked: str) -> None:
    assert mask_url(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://db:5432,replica:5433/prod",
        "postgresql://[::1]:5432/prod",
        "postgresql://app@db:5432/prod",
        "app.models:metadata",
        "schema/tables.sql",
        "schema.sql:3:1: operator does not exist: jsonb ? text",
        'schema.sql:12:8: syntax error at or near "a@b" (#> x)',
        "migration 0002 step 1/2 (raw_sql): ERROR: x = 5",
    ],
)
def test_text_without_a_password_is_left_alone(text: str) -> None:
    """Ordinary messages pass through too (the CLI masks every error line once more)."""
    assert mask_url(text) == text


def test_a_message_loses_every_piece_of_the_urls_password() -> None:
    url = "host=db password=s3cret xy dbname=prod"
    message = 'missing "=" after "xy" in connection info string; also s3cret and s3cret%20xy'
    assert mask_url(message, url) == 'missing "=" after *** in connection info string; also *** and ***%20xy'
    decoded = mask_url('invalid token: "p@ss word"', "postgresql://app:p%40ss%20word@db/prod")
    assert decoded == 'invalid token: "***"'
