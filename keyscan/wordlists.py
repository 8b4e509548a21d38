"""Well-known default and dummy credential values that are not worth reporting."""

from __future__ import annotations

import hashlib
import re

DEFAULT_VALUES = frozenset(
    {
        *("password", "passw0rd", "pass", "passwd", "pwd", "secret", "secrets", "admin"),
        *("administrator", "root", "guest", "user", "username", "test", "testing", "tester"),
        *("postgres", "mysql", "redis", "mongo", "oracle", "sa", "changeit", "default"),
        *("qwerty", "letmein", "welcome", "none", "null", "nil", "true", "false", "empty"),
        *("required", "optional", "string", "value", "token", "key", "apikey", "api_key"),
        *("secretkey", "secret_key", "mypassword", "yourpassword", "demo", "sample"),
        *("public", "private", "hidden", "tiger", "scott", "hunter2", "foobar", "s3cr3t"),
        *("foo", "bar", "baz", "qux", "hello", "world", "helloworld"),
        # GitHub's fixed password for a token given as the user name (the token is the secret).
        "x-oauth-basic",
    }
)


# The digests password tables store for the most common defaults: a seeded user's row
# (`INSERT INTO user ... 'e10adc3949ba59abbe56e057f20f883e'`, MD5 of 123456) holds no password.
# Not for security, which a FIPS-mode Python needs told before it computes an MD5.
_DEFAULT_PASSWORDS_HASHED = (
    *DEFAULT_VALUES,
    *("123456", "12345678", "123456789", "1234567890", "111111", "000000", "654321"),
    *("admin123", "password123", "abc123", "123123", "test123", "root123", "qwerty123"),
)
DEFAULT_DIGESTS = frozenset(
    hashlib.new(algorithm, value.encode(), usedforsecurity=False).hexdigest()
    for algorithm in ("md5", "sha1", "sha256")
    for value in _DEFAULT_PASSWORDS_HASHED
)


# Between the words of a made-up value: punctuation, spaces and their percent-escapes.
_WORD_SEPARATORS = re.compile(r"%[0-9a-f]{2}|[^a-z0-9]+")
_PERCENT_ESCAPE = re.compile(r"%[0-9a-f]{2}")
# Digits and symbols written for the letters they look like (`t3s71ng`, `r00t`, `adm1n`).
LOOK_ALIKES = str.maketrans("@4$5301!7", "aasseoiit")
# A possessive glued to a default word (`mysecret`, `yourtoken`) adds nothing to it.
_POSSESSIVES = ("my", "your", "our", "the", "some")


def is_default_value(value: str) -> bool:
    """A default word, or nothing but default words, each perhaps numbered (`pass%20pass`,
    `user:test`, `secret2`, `a%20secret`), or nothing but percent-escapes (`%3A%40c`); also
    written with look-alike digits (`t3s71ng`) or after a possessive (`mysecret`)."""
    lowered = value.lower().strip("!.")
    return _made_of_default_words(lowered) or _made_of_default_words(lowered.translate(LOOK_ALIKES))


def _made_of_default_words(lowered: str) -> bool:
    if lowered in DEFAULT_VALUES:
        return True
    # Words of one or two letters (`a`, `my`) carry nothing either way.
    words = [
        _without_possessive(stem)
        for word in _WORD_SEPARATORS.split(lowered)
        if len(stem := word.rstrip("0123456789")) > 2
    ]
    if not words:
        # Punctuation and fragments only: a credential only if it is not URL-encoding debris.
        return _PERCENT_ESCAPE.search(lowered) is not None
    return all(word in DEFAULT_VALUES for word in words)


def _without_possessive(word: str) -> str:
    for possessive in _POSSESSIVES:
        if word.startswith(possessive) and word[len(possessive) :] in DEFAULT_VALUES:
            return word[len(possessive) :]
    return word


# Values printed in specifications and vendor documentation as examples: they are everywhere in
# vendored libraries and docs and never authenticate anything.
DOCUMENTED_EXAMPLES = frozenset(
    {
        # RFC 6749 (OAuth 2.0)
        *("2YotnFZFEjr1zCsicMWpAA", "tGzv3JOkF0XG5Qx2TlKWIA", "SplxlOBeZQQYbYS6WxSbIA"),
        *("7Fjfp0ZBr1KtDRbnfVdmIw", "8xLOxBtZp8", "s6BhdRkqt3", "czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
        # RFC 5849 (OAuth 1.0)
        *("ad180jjd733klru7", "hh5s93j4hdidpola", "hdk48Djdsa", "nnch734d00sl2jdk"),
        *("kd94hf93k423kf44", "pfkkdhi9sl3r4s00", "dh893hdasih9", "xyz4992k83j47x0b"),
        *("wIjqoS", "kllo9940pd9333jh", "dpf43f3p2l4k3l03", "chapoH"),
        # RFC 7519 / 7515 (JWT, JWS) examples and the jwt.io default secret
        *("your-256-bit-secret", "your-384-bit-secret", "your-512-bit-secret"),
        # Flask's configuration and deployment docs (SECRET_KEY examples, copied into many
        # tutorials): https://flask.palletsprojects.com/en/stable/config/#SECRET_KEY
        "192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf",
        "5f352379324c22463451387a0aec5d2f",
        # FastAPI's OAuth2/JWT tutorial: https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/
        "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
        # Python's urllib.request examples (HTTPBasicAuthHandler), copied into its docs' forks:
        # https://docs.python.org/3/library/urllib.request.html#examples
        "kadidd!ehopper",
        # The Azure Storage emulator's (Azurite's) account key, the same on every machine:
        # https://learn.microsoft.com/en-us/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        # Stripe's sample test keys, shown in its API reference to every reader who is not
        # logged in (https://docs.stripe.com/api/authentication), and the public test key its
        # client libraries' test suites used.
        *("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_BQokikJOvBiI2HlWgH4olfQ2"),
        "tGN0bIwXnHdwOa85VABjPdSn8nWY7G7I",
        # Slack's request-signing walk-through: its signing secret and the slash command's
        # verification token (https://docs.slack.dev/authentication/verifying-requests-from-slack).
        *("8f742231b10e8888abcd99yyyzzz85a5", "xyzz0WbapA4vBCDEFasx0q6G"),
        # GitHub's webhook-validation walk-through:
        # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
        "It's a Secret to Everybody",
        # The HOTP/TOTP test secret "12345678901234567890" of RFC 4226 (Appendix D) and RFC 6238
        # (Appendix B), in the base32 that authenticator apps take.
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        # The Amazon S3 Developer Guide's (2006-03-01) request-signing examples: access key id
        # and secret key, copied into the tests of most S3 clients.
        *("0PN5J17HBGZHT7JJ3X82", "uV3F3YluFJax1cknvbcGwgjvx4QpvB+leU8dUj2o"),
        # HTTP Basic's example credential, "Aladdin:open sesame" (RFC 7617, section 2).
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    }
)


# Runs people type for a made-up value: counting, the alphabet, keyboard rows.
SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "9876543210",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
)


def is_sequence_run(value: str) -> bool:
    """Nothing but a run of one sequence, three characters or more (`123`, `abc`, `qwer`)."""
    lowered = value.lower()
    return len(lowered) >= 3 and any(lowered in sequence for sequence in SEQUENCES)


# Words of one case joined by `-`, `_` or `:`, some parts perhaps numbers: a name someone wrote
# (`stale-token`, `users_list_pagination_1`, `ACCOUNT_SID`, `test-secret-key-minimum-32-chars`),
# where a generated value would mix letters and digits within its parts.
_WORD_LABEL = re.compile(
    r"^(?=[^_\-:]*[_\-:])(?=.*[A-Za-z]{2})"  # two parts or more, and words among them
    r"(?:(?:[a-z]{2,}|[0-9]{1,5})(?:[_\-:](?:[a-z]{2,}|[0-9]{1,5}))*[0-9]{0,3}"
    r"|(?:[A-Z]{2,}|[0-9]{1,5})(?:[_\-:](?:[A-Z]{2,}|[0-9]{1,5}))*[0-9]{0,3})$"
)
# The same with versions (`v2`) and numbers with a unit or short name (`4o`, `3d`) among the
# parts, when two parts at least are words: `gpt-4o-mini-2024-07-18`, `imagenet_train_v2`.
_LOWER_PART = r"(?:[a-z]{2,}|[0-9]{1,5}|v[0-9]{1,3}|[0-9]{1,2}[a-z]{1,2})"
_UPPER_PART = r"(?:[A-Z]{2,}|[0-9]{1,5}|V[0-9]{1,3}|[0-9]{1,2}[A-Z]{1,2})"
_VERSIONED_LABEL = re.compile(
    rf"^(?:{_LOWER_PART}(?:[_\-:]{_LOWER_PART})+|{_UPPER_PART}(?:[_\-:]{_UPPER_PART})+)$"
)
_PART_SEPARATORS = re.compile(r"[_\-:]")


def is_word_label(value: str) -> bool:
    if _WORD_LABEL.match(value) is not None:
        return True
    if _VERSIONED_LABEL.match(value) is None:
        return False
    words = [part for part in _PART_SEPARATORS.split(value) if part.isalpha() and len(part) > 1]
    return len(words) >= 2


# The claims jwt.io's introduction signs ({"sub":"1234567890","name":"John Doe","iat":1516239022}),
# base64url as a token carries them: most JWT tutorials and libraries' tests copy that token, or
# sign the same claims with a key of their own. A JWT carrying them is the example.
_JWT_IO_EXAMPLE_CLAIMS = (
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
)


def is_documented_example(value: str) -> bool:
    return value in DOCUMENTED_EXAMPLES or _JWT_IO_EXAMPLE_CLAIMS in value
