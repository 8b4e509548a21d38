"""False-positive filters: pure, ordered, and each one says why it dropped a candidate."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import unicodedata
import urllib.parse
from collections.abc import Callable, Sequence

import regex

from keyscan.checksums import checksum_ok
from keyscan.entropy import shannon_entropy
from keyscan.model import value
from keyscan.options import GlobalAllowlist
from keyscan.rules.schema import Rule
from keyscan.wordlists import (
    DEFAULT_DIGESTS,
    LOOK_ALIKES,
    SEQUENCES,
    is_default_value,
    is_documented_example,
    is_sequence_run,
    is_word_label,
)


@value
class FilterInput:
    """A candidate with the context filters may look at: the line it sits on and the one before."""

    rule: Rule
    secret: str
    path: str
    line: str
    previous_line: str
    allow_regexes: tuple[regex.Pattern[str], ...]
    before: str = ""  # the text just before the secret on its line
    after: str = ""  # the text just after it
    foreign_markers: bool = True  # honour detect-secrets' and gitleaks' markers too

    @property
    def quoted(self) -> bool:
        return bool(self.before) and self.before[-1] in "\"'`" and self.after[:1] == self.before[-1]


Filter = Callable[[FilterInput], "str | None"]

# Template syntax is recognised by what follows its opening, as a template engine would parse
# it: a name, then the end, a space, a filter bar or the closing braces. A `$(`, `${` or `{{`
# followed by symbols is part of a generated value (Django's key alphabet has `$` and `(`,
# WordPress's salts have `$`, `(`, `{` and `}`). An angle-bracketed placeholder is words of
# one case (`<your-api-key>`, `<TOKEN>`), not the `<eW1>` of a salt.
_PLACEHOLDER_SHAPES = regex.compile(
    r"""
      \$\{\s*[!#]?\w[\w.\-]*(?:\s*\}|[:?+=\-%#/|\[]|$) | \$\{$
    | \{\{-?(?:\s|$|[.$]?[A-Za-z_][\w.]*\s*(?:\}\}|[\s|(\[]|$))
    | \}\}$
    | \$\(\s?[A-Za-z_./][\w./\-]*(?:[\s)]|$)
    | %\([\w.]+\)s
    | <(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)(?:[\s_.\-](?:[a-z]+|[A-Z]+|[A-Z][a-z]+|\d+)){0,8}>
    | ^\$[A-Za-z_]\w*$ | ^%[A-Za-z_]\w*%$ | ^__[A-Z_]+__$ | ^@[A-Z_]+@?$ | ^\[[A-Za-z_ ]+\]$
    | ^\.\.\.$ | \*{3,} | x{4,} | X{4,} | \#{4,} | •{3,} | \.{4,}
    """,
    regex.VERBOSE,
)
_PLACEHOLDER_WORDS = regex.compile(
    r"(?i)example|placeholder|changeme|change[_\-]me|redacted|dummy|your[_\-]|insert[_\-]?|"
    r"replace[_\-]?me|fixme|<secret>|random[_\-]?chars|notreal|not[_\-]a[_\-]real|lorem|ipsum|fake|"
    r"change[_\-]?this"
)
# "someuser", "somepw", "some_token": a name standing where a value would go, in test fixtures
# and documentation (sqlalchemy's `token2 = "somepw%3BPORT%3D50001"`), never a chosen secret.
_SOME_NAME = regex.compile(
    r"(?i)^some[_\-]?(?:user(?:name)?|pw|pwd|pass(?:word|wd)?|secret|token|(?:api[_\-]?)?key|"
    r"host|db|database|port|value|thing|string)"
)
# A value cut short for display (`eyJhbGciOiJIUzI1NiJ9...`) or with its middle left out
# (`99ae8af...snip...ec0f262ac`): the rest was never written down. No token format has three
# dots in a row.
_TRUNCATED = regex.compile(r"\.\.\.|…")
# A shell parameter expansion up to its `:?` (`${DB_PASSWORD:?Variable not set}`): what follows
# is the error message printed when the variable is unset.
_EXPANSION_OPENED = regex.compile(r"\$\{[A-Za-z_]\w*:$")
_HEX_DIGEST = regex.compile(
    r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})$"
)
_DIGEST_CONTEXT = regex.compile(
    r"(?i)sha[-_ ]?(?:1|224|256|384|512)|(?<![a-z])sha(?![a-z])|md5|hash|digest|checksum|"
    r"integrity|etag|commit|revision|fingerprint|--hash=|\bh1:|nonce|cache[_-]?key"
)
_DIGEST_PREFIXED = regex.compile(
    r"(?i)^(?:sha(?:1|256|384|512)[-:]|md5[-:]|h1:|blake2b?[-:]|\{S?SHA(?:256|512)?\}|#jbcrypt:"
    # crypt(3) and password-hash encodings: the stored hash, not the password itself.
    r"|\$(?:1|2[abxy]?|5|6|7|y|gy|md5|argon2(?:id|i|d)|pbkdf2[\w-]*|scrypt|sha1)\$)"
)
_BASE64_VALUE = regex.compile(r"^[A-Za-z0-9+/]{4,}={0,2}$")
_UUID = regex.compile(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_REFERENCE = regex.compile(
    r"""(?x)
      ^(?!eyJ)[A-Za-z_$][\w$]*(?:\.(?:[A-Za-z_$][\w$]*|\d{1,3}))+(?:\(\))?$  # obj.attr, not a JWT
    | ^[a-z]+(?:-[a-z]+)*(?:\.(?:[a-z]+(?:-[a-z]+)*|\d{1,3}))+$  # scope.name-with-hyphens.2
    | ^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$   # package.module:Attribute
    | ^[A-Z]{2,}(?:_[A-Z0-9]{2,})+$                         # ENV_VAR_NAME
    | ^[a-z]{2,}(?:[A-Z][a-z]{2,})+[0-9]{0,2}$              # camelCaseIdentifier
    | ^[A-Z][a-z]{2,}(?:[A-Z][a-z]{2,})+[0-9]{1,2}$         # PascalCaseIdentifier2
    | ^[a-z]+(?:-[a-z]+)+=$                                 # a kebab-case attribute and `=`
    | ^[A-Za-z_$][\w$]*=[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$  # minified: g=n.TOKEN_X
    | ^[a-z]{2,}(?:_[a-z]{2,})+[0-9]{0,2}$                  # snake_case_identifier
    | ^[A-Za-z_$][\w.$]*\(.*\)$                            # a call: get_secret(), env("X")
    | ^[A-Za-z_$][\w.$]*\[.*\]$                            # a subscript: config[key]
    | (?i:os\.environ|process\.env|getenv|env\(|secrets\.|vault:|ssm:|arn:aws)
    """
)
# A form validation rule list (Laravel's `'password' => 'required|confirmed|min:8'`,
# CodeIgniter's `required|matches[passconf]`): rules joined by bars, one of them a rule that
# only a validator uses.
_VALIDATION_RULES = regex.compile(
    r"^(?=(?:[^|]*\|)*(?:required|confirmed|nullable|sometimes|min:\d|max:\d|between:|matches\[|"
    r"min_length\[|max_length\[|alpha_num|alpha_dash|xss_clean|current_password)(?:[|:\[]|$))"
    r"[a-z_]+(?::[^|\s]*|\[[^|\s\]]*\])?(?:\|[a-z_]+(?::[^|\s]*|\[[^|\s\]]*\])?)+$"
)
# A pip/PEP 508 requirement pinned to a version: a tox or requirements line whose name holds
# `token` (`tiktoken`) or `secret` is no assignment of a secret.
_VERSION_REQUIREMENT = regex.compile(
    r"^[A-Za-z0-9][\w.\-]*(?:\[[\w,.\-]+\])?\s{0,2}(?:===?|~=|!=|>=|<=)\s{0,2}v?\d[\w.\-*+!]*$"
)
# A version, Debian's epoch and revision included (`1:4.5-1ubuntu2.5`, `10.3.2-beta1`): a
# package list's `passwd` entry holds one.
_VERSION = regex.compile(r"^v?(?:\d+:)?\d+(?:\.\d+)+(?:[-+~][0-9A-Za-z.+~]+)?$")
# The scope part of a SigV4 `Credential=` (key id/date/region/service/aws4_request), which names
# a day, a region and a service; the key id before it is reported by the AWS rules on its own.
_SIGV4_SCOPE = regex.compile(r"^(?:[\w\-]+/)?\d{8}/[a-z0-9\-]+/[a-z0-9\-]+/aws4_request$")
_PUBLIC_MATERIAL = regex.compile(
    r"(?i)^(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-|pk_(?:live|test)_)"
    r"|BEGIN (?:PUBLIC KEY|CERTIFICATE)"
)
# Algolia's search-only API key (32 hex digits), the one its DocSearch widget and the docs themes
# built on it (Docusaurus, VitePress, Sphinx and MkDocs themes) put in every page: it can only
# search indexes the site shows anyway (https://www.algolia.com/doc/guides/security/api-keys/).
# It is told from an admin or write key by where it is: in a `docsearch(...)` call, under a name
# that says search next to Algolia, or as the `apiKey` right after an Algolia application id
# (ten capitals and digits) in a documentation site's configuration (an indexing script names
# its admin key the same way).
_HEX_32 = regex.compile(r"^[a-f0-9]{32}$")
_ASSIGNED_NAME = regex.compile(r"([A-Za-z_][\w.\-]*)[\"']?\s{0,3}(?:=>|:=|=|:)\s{0,3}[\"'`]?$")
_PRIVILEGED_NAME = regex.compile(r"(?i)admin|write|master|secret|private")
_DOCS_SITE_CONFIG = regex.compile(
    r"(?i)(?:^|/)(?:docusaurus\.config\.[cm]?[jt]s|mkdocs\.ya?ml|_config\.ya?ml|conf\.py)$"
    r"|(?:^|/)(?:\.vitepress|docs?|website)/"
)
_ALGOLIA_APP_ID = regex.compile(
    r"(?i:\bapp(?:lication)?[_\-]?id)[\"']?\s{0,3}(?:=>|=|:)\s{0,3}[\"'`]?[A-Z0-9]{10}[\"'`]?,?\s*$"
)
# A file format's magic number written as an escaped literal (PNG's, ELF's): a constant every
# reader of the format knows.
_FILE_SIGNATURE = regex.compile(r"^(?:\\x89PNG\\r\\n\\x1a\\n|\\x7fELF|%PDF-|GIF8[79]a)")
_PASCAL_CASE = regex.compile(r"^_?[A-Z][a-z]*[A-Z]?[a-z]+(?:[A-Z]+[a-z]*)+$|^_?[A-Z][a-z]{2,}$")
# A variable's name in camelCase (`defaultToConfig2`): lower-case word, then capitalised words
# (the last of three letters or more), a number of one or two digits perhaps after any.
_CAMEL_CASE = regex.compile(r"^_?[a-z]{2,}\d{0,2}(?:[A-Z][a-z]+\d{0,2})*[A-Z][a-z]{2,}\d{0,2}$")
# A number written in hexadecimal (`0xb715d440`): an address in an object's inspect output or a
# constant, never a password.
_HEX_NUMBER = regex.compile(r"^0[xX][0-9a-fA-F]{4,16}$")
_CODE_SUFFIXES = (
    ".py",
    ".pyi",
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".tsx",
    ".jsx",
    ".java",
    ".kt",
    ".kts",
    ".go",
    ".rb",
    ".php",
    ".cs",
    ".swift",
    ".rs",
    ".c",
    ".cc",
    ".cpp",
    ".h",
    ".hpp",
    ".scala",
    ".groovy",
    ".dart",
    ".lua",
    ".pl",
    ".r",
    ".m",
    ".vue",
    ".svelte",
    ".ps1",
    ".psm1",
)
# Documentation hosts (RFC 2606 names) and this machine's own addresses.
_EXAMPLE_HOSTS = (
    r"(?:(?:[\w.\-]*\.)?(?:example\.(?:com|org|net)|[\w\-]+\.(?:example|invalid|test|localhost)"
    r"|example|localhost)|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[::1\])"
)
_EXAMPLE_HOST = regex.compile(r"^@" + _EXAMPLE_HOSTS + r"(?![\w.\-])", regex.IGNORECASE)
_PATH_OR_URL = regex.compile(r"^(?:[a-z][a-z0-9+.\-]*://|/|\./|\.\./|~/|[A-Za-z]:\\)")
# A relative path to a document, page, source file or image (`tutorial/security/oauth2-jwt.md`
# in a site's navigation).
_RELATIVE_FILE = regex.compile(
    r"^[\w.\-]+(?:/[\w.\-]+)+\.(?:md|rst|txt|html?|py|js|ts|json|ya?ml|toml|cfg|ini|png|jpe?g|gif|svg)$"
)
INLINE_MARKERS = ("keyscan:allow", "pragma: allowlist secret", "gitleaks:allow")
NEXT_LINE_MARKERS = ("keyscan:allow-next-line", "pragma: allowlist nextline secret")


def rule_allowlist(item: FilterInput) -> str | None:
    lowered = item.secret.lower()
    for word in item.rule.allowlist.stopwords:
        if word in lowered:
            return f"contains the rule's stopword {word!r}"
    for pattern in item.allow_regexes:
        if pattern.search(item.secret):
            return f"matches the rule's allowlist regex {pattern.pattern!r}"
    for path_pattern in item.rule.allowlist.paths:
        if regex.search(path_pattern, item.path):
            return f"path matches the rule's allowlist {path_pattern!r}"
    return None


def entropy(item: FilterInput) -> str | None:
    minimum = item.rule.entropy
    if minimum is None:
        return None
    value = shannon_entropy(item.secret)
    if value < minimum:
        return f"entropy {value:.2f} below the rule's minimum {minimum:g}"
    return None


def checksum(item: FilterInput) -> str | None:
    if item.rule.checksum and not checksum_ok(item.rule.checksum, item.secret):
        return f"{item.rule.checksum} checksum does not match"
    return None


def documented_example(item: FilterInput) -> str | None:
    if is_documented_example(item.secret):
        return "a value printed as an example in a specification or vendor documentation"
    return None


def placeholder(item: FilterInput) -> str | None:
    shape = _PLACEHOLDER_SHAPES.search(item.secret)
    if shape:
        return f"placeholder or template syntax {shape.group()!r}"
    word = _PLACEHOLDER_WORDS.search(item.secret)
    if word:
        return f"placeholder word {word.group()!r}"
    name = _SOME_NAME.match(item.secret)
    if name:
        return f"placeholder name {name.group()!r}"
    if _TRUNCATED.search(item.secret):
        return "a value cut short, or its middle left out, with an ellipsis"
    if item.secret.startswith("?") and _EXPANSION_OPENED.search(item.before):
        return "the error message of a shell parameter expansion (`${VAR:?message}`)"
    return None


def repetitive(item: FilterInput) -> str | None:
    secret = item.secret
    if len(secret) >= 8:
        most = max(secret.count(c) for c in set(secret))
        if most * 2 > len(secret):
            return "one character makes up most of the value"
    if len(set(secret)) <= 3 and len(secret) >= 6:
        return "too few distinct characters"
    lowered = secret.lower()
    if is_sequence_run(lowered):
        return f"nothing but a keyboard or counting sequence {lowered!r}"
    for sequence in SEQUENCES:
        for i in range(len(sequence) - 5):
            if sequence[i : i + 6] in lowered:
                return f"keyboard or counting sequence {sequence[i : i + 6]!r}"
    return None


def digest(item: FilterInput) -> str | None:
    secret = item.secret
    if _DIGEST_PREFIXED.match(secret):
        return "a digest with an algorithm prefix"
    if _HEX_DIGEST.match(secret.lower()) and _DIGEST_CONTEXT.search(item.line):
        return "a hex digest in a hash/commit context"
    if item.path.endswith(("go.sum", ".lock", "package-lock.json", "pnpm-lock.yaml", ".sri")):
        return "a lockfile value"
    return None


def default_value(item: FilterInput) -> str | None:
    if is_default_value(item.secret):
        return f"a well-known default or dummy value {item.secret.lower()!r}"
    if item.secret.lower() in DEFAULT_DIGESTS:
        return "the digest of a well-known default password (a seeded user's stored hash)"
    decoded = _base64_text(item.secret)
    if decoded is not None and is_default_value(decoded):
        return f"base64 of a well-known default or dummy value {decoded.lower()!r}"
    # A Kubernetes Secret's `password: cXVvYnl0ZQ==` is judged by what it encodes, as the same
    # value written out would be: shorter than 8 characters, or letters only, it is a sample's
    # word (`quobyte`, `mpass`), which the password rules never take for a password.
    if (
        decoded is not None
        and item.rule.kind == "generic"
        and "password" in item.rule.tags
        and (len(decoded) < 8 or decoded.isalpha())
    ):
        return "base64 of a word or of fewer than 8 characters, which no password rule takes"
    return None


def _base64_text(value: str) -> str | None:
    """`value` read as standard base64 of printable ASCII, if it is exactly that."""
    if len(value) % 4 or not _BASE64_VALUE.match(value):
        return None
    try:
        text = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return text if text.isprintable() else None


def _inside_string_literal(before: str) -> bool:
    # An odd number of quotes before the value on its line means it sits inside a string
    # literal (a connection string, a URL), which is a literal, not an expression.
    return any(before.count(quote) % 2 == 1 for quote in "\"'`")


def code_expression(item: FilterInput) -> str | None:
    # In source code an unquoted value is an expression (a variable, a type annotation), never a
    # literal; in .env, YAML, INI or properties files an unquoted value is the literal itself.
    if (
        not item.quoted
        and not _inside_string_literal(item.before)
        and item.path.lower().endswith(_CODE_SUFFIXES)
    ):
        return "an unquoted expression in source code, not a literal"
    if _PASCAL_CASE.match(item.secret) and not item.quoted:
        return "a type or class name"
    if _CAMEL_CASE.match(item.secret) and not item.quoted:
        return "a variable's name in camelCase"
    return None


# The end of a URL's query up to a parameter's `=`, on a documentation or local-only host.
_EXAMPLE_HOST_QUERY = regex.compile(
    r"://" + _EXAMPLE_HOSTS + r"(?::\d{1,5})?(?:/[^\s?#]*)?\?(?:[^\s#]*&)?[\w.\-]{1,40}=$",
    regex.IGNORECASE,
)
# A form or header field that carries an anti-forgery token, up to where its value starts.
_ANTI_FORGERY_FIELD = regex.compile(
    r"(?i)(?:csrf|xsrf|authenticity_token|requestverificationtoken)"
    # ... but not the server's secret that signs them (WTF_CSRF_SECRET_KEY): a credential.
    r"(?![\w\-]{0,20}?(?:secret|key))[\w\-]{0,20}[\"']?"
    r"(?:\s{0,3}[:=]|\s+value\s{0,3}=)\s{0,3}[\"']?$"
)


def example_host(item: FilterInput) -> str | None:
    # Credentials for documentation hosts or for this machine only (a local database, a
    # notebook server's `?token=` in the URL it prints) open nothing anyone else can reach.
    if _EXAMPLE_HOST.match(item.after) or _EXAMPLE_HOST_QUERY.search(item.before):
        return "credentials for a documentation or local-only host (example.com, localhost, 127.x)"
    return None


def anti_forgery(item: FilterInput) -> str | None:
    # A CSRF token is minted per session to prove a form came from the site; it grants nothing
    # on its own (a page saved with its form is where they get committed).
    if _ANTI_FORGERY_FIELD.search(item.before):
        return "an anti-forgery (CSRF) token: a per-session form value, not a credential"
    return None


_EMAIL = regex.compile(r"^[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+$")


# Words that say "password" when they are the whole value (`p@ss`, `pword`).
_PASSWORD_WORDS = frozenset({"pass", "pword", "pw", "pwd"})
# "secret" with at most a word before it, spelled out as documentation does (`mysecret`,
# `s00pers3cret`, `S3cr3t!`): letters only, as the look-alike reading leaves them.
_SECRET_WORD = regex.compile(r"^(?:super|sooper|my|top|very|so|not|your|a|the)?secrets?$")
# A label made of lowercase words, one of them a password word (`pydantic-pw`, `db_pass`).
_PASSWORD_LABEL = regex.compile(
    r"^(?=.*(?:^|[-_.])(?:pw|pwd|pass|passwd|password|pword)(?:$|[-_.]))[a-z]+(?:[-_.][a-z]+)+$"
)


def self_describing(item: FilterInput) -> str | None:
    # Percent-escapes and look-alike digits undone, so `p%40ss%2Fword` and `P@ssw0rd!` read
    # as the word they spell; only ASCII letters count (`pasℝs` spells `pass`).
    # A symbol may stand for a letter (`p@ss`) or between words (`pass@word`): both readings.
    lowered = item.secret.lower()
    for spelled in {lowered, urllib.parse.unquote(lowered)}:
        for reading in (spelled, spelled.translate(LOOK_ALIKES)):
            # Accents dropped too (`pässword`): a decomposed letter keeps its base letter.
            decomposed = unicodedata.normalize("NFKD", reading)
            letters = "".join(c for c in decomposed if "a" <= c <= "z")
            if "password" in letters or "passwd" in letters or letters in _PASSWORD_WORDS:
                return "the value names a password instead of holding one"
            if _SECRET_WORD.match(letters):
                return "the value is the word secret dressed up (`s00pers3cret`), a demo value"
    if _PASSWORD_LABEL.match(item.secret):
        return "the value is a label naming a password (`name-pw`), not a password"
    if _EMAIL.match(item.secret):
        return "an e-mail address (anonymous FTP and similar conventions), not a password"
    return None


def identifier(item: FilterInput) -> str | None:
    if _UUID.match(item.secret):
        return "a UUID"
    if _REFERENCE.search(item.secret):
        return "a reference to a variable, setting or function, not a literal"
    if is_word_label(item.secret):
        return "a label made of words (`stale-token`, `users_list_1`), not a generated value"
    if _HEX_NUMBER.match(item.secret):
        return "a hexadecimal number (an object's address, a constant)"
    if _VALIDATION_RULES.match(item.secret):
        return "a form validation rule list (`required|confirmed|min:8`)"
    if _VERSION_REQUIREMENT.match(item.secret):
        return "a package version requirement (`langchain==0.2.9`)"
    if _VERSION.match(item.secret):
        return "a version number (`1:4.5-1ubuntu2.5`)"
    if _SIGV4_SCOPE.match(item.secret):
        return "an AWS Signature V4 credential scope (date/region/service/aws4_request)"
    if _PATH_OR_URL.match(item.secret) or _RELATIVE_FILE.match(item.secret):
        return "a path or URL"
    if sum(1 for char in item.secret if char.isalpha() and not char.isascii()) * 2 > len(
        item.secret
    ):
        return "natural-language text in a non-Latin script"
    return None


_JWT = regex.compile(r"^eyJ[\w\-]+\.(eyJ[\w\-]+)\.[\w\-]*$")


def _jwt_claims(value: str) -> dict[str, object] | None:
    """The claims of a JWT, if `value` is one whose payload is a JSON object."""
    shaped = _JWT.match(value)
    if shaped is None:
        return None
    payload = shaped.group(1)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def public_material(item: FilterInput) -> str | None:
    if _PUBLIC_MATERIAL.search(item.secret) or _PUBLIC_MATERIAL.search(item.line[:200]):
        return "public key, certificate or publishable key"
    # Supabase's anon key is a JWT with role "anon", made to ship in every browser client: the
    # database's row-level security decides what it may read (its service_role key is secret).
    claims = _jwt_claims(item.secret)
    if claims is not None and claims.get("role") == "anon":
        return "a Supabase anon key (role anon): public by design"
    if _FILE_SIGNATURE.match(item.secret):
        return "a file format's signature (magic number), not a secret"
    if _algolia_search_key(item):
        return "an Algolia search-only key (DocSearch): public by design"
    return None


def _algolia_search_key(item: FilterInput) -> bool:
    if not _HEX_32.match(item.secret):
        return False
    named = _ASSIGNED_NAME.search(item.before)
    name = named.group(1).lower() if named else ""
    if not name or _PRIVILEGED_NAME.search(name):
        return False
    context = f"{item.previous_line}\n{item.line}".lower()
    if "docsearch" in context:
        return True
    if "algolia" in context and "search" in name:
        return True
    return (
        name.rpartition(".")[2] in ("apikey", "api_key")
        and bool(_ALGOLIA_APP_ID.search(item.previous_line))
        and bool(_DOCS_SITE_CONFIG.search(item.path))
    )


def inline_ignore(item: FilterInput) -> str | None:
    own = ("keyscan:",)
    for marker in NEXT_LINE_MARKERS:
        if not item.foreign_markers and not marker.startswith(own):
            continue
        if marker in item.previous_line and _marker_applies(item.previous_line, marker, item):
            return f"`{marker}` on the previous line"
    for marker in INLINE_MARKERS:
        if not item.foreign_markers and not marker.startswith(own):
            continue
        index = item.line.find(marker)
        # keyscan:allow-next-line on this line is about the next line, not this one.
        if (
            index != -1
            and not item.line.startswith("-next-line", index + len(marker))
            and _marker_applies(item.line, marker, item)
        ):
            return f"`{marker}` on the line"
    return None


_UNTIL = regex.compile(r"\buntil=(\d{4}-\d{2}-\d{2})\b")


def _marker_applies(line: str, marker: str, item: FilterInput) -> bool:
    # `keyscan:allow some.rule-id reason=... until=2027-01-31` limits the ignore to that rule and
    # that date; past it the finding comes back.
    rest = line[line.find(marker) + len(marker) :]
    if not marker.startswith("keyscan:") or not rest.startswith(" "):
        return True
    until = _UNTIL.search(rest)
    if until:
        try:
            if datetime.date.today() > datetime.date.fromisoformat(until.group(1)):
                return False
        except ValueError:
            return False  # an impossible date allows nothing rather than everything
    words = rest.split()
    if words and not words[0].startswith(("reason=", "until=")) and "." in words[0]:
        return words[0] == item.rule.id
    return True


PROVIDER_FILTERS: tuple[tuple[str, Filter], ...] = (
    ("rule-allowlist", rule_allowlist),
    ("checksum", checksum),
    ("entropy", entropy),
    ("documented-example", documented_example),
    ("placeholder", placeholder),
    ("repetitive", repetitive),
    ("inline-ignore", inline_ignore),
)
GENERIC_FILTERS: tuple[tuple[str, Filter], ...] = (
    *PROVIDER_FILTERS[:-1],
    ("default-value", default_value),
    ("self-describing", self_describing),
    ("digest", digest),
    ("code-expression", code_expression),
    ("identifier", identifier),
    ("example-host", example_host),
    ("anti-forgery", anti_forgery),
    ("public-material", public_material),
    PROVIDER_FILTERS[-1],
)


def global_allowlist(allow: GlobalAllowlist, secret: str, path: str) -> str | None:
    for path_pattern in allow.paths:
        if path_pattern.search(path):
            return f"path matches the configured allowlist {path_pattern.pattern!r}"
    lowered = secret.lower()
    for word in allow.stopwords:
        if word in lowered:
            return f"contains the configured stopword {word!r}"
    for pattern in allow.regexes:
        if pattern.search(secret):
            return f"matches the configured allowlist regex {pattern.pattern!r}"
    return None


def first_reason(
    item: FilterInput, filters: Sequence[tuple[str, Filter]], inline_ignores: bool = True
) -> tuple[str, str] | None:
    """(filter name, reason) of the first filter that drops the candidate, or None to keep it."""
    for name, check in filters:
        if name == "inline-ignore" and not inline_ignores:
            continue
        reason = check(item)
        if reason is not None:
            return name, reason
    return None
