"""Well-known default and dummy credential values that are not worth reporting."""

from __future__ import annotations

DEFAULT_VALUES = frozenset(
    {
        *("password", "passw0rd", "pass", "passwd", "pwd", "secret", "secrets", "admin"),
        *("administrator", "root", "guest", "user", "username", "test", "testing", "tester"),
        *("postgres", "mysql", "redis", "mongo", "oracle", "sa", "changeit", "default"),
        *("qwerty", "letmein", "welcome", "none", "null", "nil", "true", "false", "empty"),
        *("required", "optional", "string", "value", "token", "key", "apikey", "api_key"),
        *("secretkey", "secret_key", "mypassword", "yourpassword", "demo", "sample"),
        *("public", "private", "hidden"),
    }
)


def is_default_value(value: str) -> bool:
    return value.lower().strip("!.") in DEFAULT_VALUES
