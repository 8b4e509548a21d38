"""Writes the labelled corpus: credentials in realistic files, and hard negatives.

Each positive file holds one secret on a known line (the label); every other line of every file
is ordinary code or configuration that must not be reported. Negative files hold the things that
make naive scanners noisy: documented example keys, placeholders, digests, lockfile integrity,
public keys, UUIDs, wrong checksums, variable names used as values.
"""

from __future__ import annotations

import base64
import json
import random
import string
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.corpus.tokens import (
    ALNUM,
    DIGITS,
    HEX,
    LOWER,
    TOKENS,
    UPPER,
    URLSAFE,
    basic_pair,
    chars,
    jwt,
    password,
    uuid_text,
)

SEED = 20261122


@dataclass(frozen=True)
class Label:
    """A line that must be reported (`family` set) — everything unlabelled must not be."""

    path: str
    line: int
    family: str
    kind: str


@dataclass
class Corpus:
    root: Path
    positives: list[Label]
    negative_files: int
    negative_kinds: dict[str, int]


# Where a token ends up: (file name suffix, builder(token, var, r) -> (text, 1-based line)).
Placement = Callable[[str, str, random.Random], tuple[str, int]]


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _env(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return _lines(
        "# production settings", "APP_ENV=production", f"{var}={token}", "LOG_LEVEL=info"
    ), 3


def _yaml(token: str, var: str, r: random.Random) -> tuple[str, int]:
    key = var.lower()
    return _lines("service:", "  name: billing", "  replicas: 3", f'  {key}: "{token}"'), 4


def _json(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return _lines(
        "{", '  "name": "worker",', f'  "{var.lower()}": "{token}",', '  "debug": false', "}"
    ), 3


def _python(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return (
        _lines(
            "import logging",
            "",
            "log = logging.getLogger(__name__)",
            f'{var} = "{token}"',
            "",
            "def client():",
            f"    return make_client({var})",
        ),
        4,
    )


def _javascript(token: str, var: str, r: random.Random) -> tuple[str, int]:
    name = "".join(w.capitalize() if i else w.lower() for i, w in enumerate(var.split("_")))
    return _lines(
        "'use strict';", "", f"const {name} = '{token}';", "module.exports = { " + name + " };"
    ), 3


def _go(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return _lines("package config", "", "const (", f'\t{var} = "{token}"', ")"), 4


def _shell(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return _lines(
        "#!/usr/bin/env bash", "set -euo pipefail", f"export {var}={token}", "./deploy.sh"
    ), 3


def _dockerfile(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return _lines(
        "FROM python:3.12-slim", "WORKDIR /app", f"ENV {var}={token}", 'CMD ["python", "app.py"]'
    ), 3


def _terraform(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return _lines(
        'provider "acme" {', '  region = "eu-west-1"', f'  {var.lower()} = "{token}"', "}"
    ), 3


def _toml(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return _lines("[tool.deploy]", 'stage = "prod"', f'{var.lower()} = "{token}"'), 3


def _markdown(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return (
        _lines(
            "## Configuration",
            "",
            "Set the variable before starting the worker:",
            "",
            "```sh",
            f"export {var}={token}",
            "```",
        ),
        6,
    )


def _notebook(token: str, var: str, r: random.Random) -> tuple[str, int]:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Exploration\n"]},
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "source": ["import os\n", f'os.environ["{var}"] = "{token}"\n'],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    text = json.dumps(notebook, indent=1) + "\n"
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "os.environ[" in row)
    return text, line


def _k8s(token: str, var: str, r: random.Random) -> tuple[str, int]:
    encoded = base64.b64encode(token.encode()).decode()
    return (
        _lines(
            "apiVersion: v1",
            "kind: Secret",
            "metadata:",
            "  name: app-secrets",
            "type: Opaque",
            "data:",
            f"  {var}: {encoded}",
        ),
        7,
    )


def _xml(token: str, var: str, r: random.Random) -> tuple[str, int]:
    return _lines(
        "<configuration>",
        "  <appSettings>",
        f'    <add key="{var}" value="{token}" />',
        "  </appSettings>",
        "</configuration>",
    ), 3


PLACEMENTS: dict[str, tuple[str, Placement]] = {
    "env": (".env", _env),
    "yaml": ("config.yaml", _yaml),
    "json": ("settings.json", _json),
    "python": ("settings.py", _python),
    "javascript": ("config.js", _javascript),
    "go": ("config.go", _go),
    "shell": ("deploy.sh", _shell),
    "dockerfile": ("Dockerfile", _dockerfile),
    "terraform": ("main.tf", _terraform),
    "toml": ("pyproject.toml", _toml),
    "markdown": ("SETUP.md", _markdown),
    "notebook": ("analysis.ipynb", _notebook),
    "kubernetes": ("secret.yaml", _k8s),
    "xml": ("web.config", _xml),
}


def _signed_jwt(r: random.Random, claims: dict[str, object]) -> str:
    algorithm, length = r.choice([("HS256", 43), ("RS256", 342), ("ES256", 86)])
    return jwt({"alg": algorithm, "typ": "JWT"}, claims, chars(r, length, URLSAFE))


# The claims jwt.io's introduction signs, which tutorials and tests copy.
_JWT_IO_CLAIMS = {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}


def _unsigned_jwt(r: random.Random) -> str:
    return jwt({"alg": "none"}, {"sub": chars(r, 8, LOWER)}, chars(r, 30, URLSAFE))


def _unnamed_jwt(r: random.Random) -> tuple[str, str, int, str]:
    """A signed service JWT under a name no generic rule takes for a secret's."""
    token = _signed_jwt(
        r,
        {
            "iss": f"https://auth.{chars(r, 6, LOWER)}.internal",
            "sub": f"svc-{chars(r, 8, LOWER)}",
            "iat": r.randint(1_700_000_000, 1_760_000_000),
            "exp": r.randint(1_900_000_000, 2_000_000_000),
        },
    )
    name, text, line = r.choice(
        [
            (
                "settings.yaml",
                _lines("upstream:", "  url: https://reports.internal", f"  jwt: {token}"),
                3,
            ),
            (
                "sync.js",
                _lines("const base = '/api/v2';", f"fetch(`${{base}}/export?jwt={token}`);"),
                2,
            ),
            (
                "client.py",
                _lines("from reports import Client", "", f'client = Client("{token}")'),
                3,
            ),
        ]
    )
    return name, text, line, "jwt-unnamed"


def _credential_files(r: random.Random) -> list[tuple[str, str, int, str]]:
    """(file name, text, line, kind) for credentials that have no provider prefix."""
    pw = password(r)
    user = chars(r, 7, LOWER)
    host = f"{chars(r, 6, LOWER)}.internal.corp"
    api_key = chars(r, 40, ALNUM)
    return [
        _unnamed_jwt(r),
        (".netrc", _lines(f"machine {host}", f"  login {user}", f"  password {pw}"), 3, "netrc"),
        (".pgpass", _lines(f"{host}:5432:billing:{user}:{pw}"), 1, "pgpass"),
        (
            ".git-credentials",
            _lines(f"https://{user}:{pw}@git.{host}"),
            1,
            "git-credentials",
        ),
        (
            "config.json",
            json.dumps({"auths": {"registry.corp.io": {"auth": basic_pair(r)}}}, indent=2) + "\n",
            4,
            "docker-config",
        ),
        (".env", _lines("APP=api", f"DB_PASSWORD={pw}", "DB_HOST=db"), 2, "dotenv-password"),
        (
            "application.properties",
            _lines(
                "spring.datasource.url=jdbc:postgresql://db:5432/app",
                f"spring.datasource.password={pw}",
            ),
            2,
            "spring",
        ),
        (
            "database.php",
            _lines("<?php", "return [", f"    'password' => '{pw}',", "];"),
            3,
            "php-config",
        ),
        (
            "settings.py",
            _lines(
                "DATABASES = {",
                f'    "default": {{"URL": "postgres://{user}:{pw}@{host}:5432/app"}}',
                "}",
            ),
            2,
            "database-url",
        ),
        (
            "client.http",
            _lines(
                f"GET https://api.{host}/v1/orders",
                f"X-API-Key: {api_key}",
                "Accept: application/json",
            ),
            2,
            "api-key-header",
        ),
        (
            "fetch.sh",
            _lines(f'curl -s "https://api.{host}/v2/report?format=csv&api_key={api_key}"'),
            1,
            "api-key-query",
        ),
        (
            "client.ts",
            _lines(
                "import { Client } from './sdk';",
                f"const client = new Client({{ apiKey: '{api_key}' }});",
            ),
            2,
            "sdk-api-key",
        ),
        (
            "request.sh",
            _lines(f'curl -H "Authorization: Basic {basic_pair(r)}" https://{host}/api'),
            1,
            "basic-auth",
        ),
        (
            "credentials",
            _lines(
                "[default]",
                "aws_access_key_id = " + TOKENS["aws.access-key-id"](r)[0],
                "aws_secret_access_key = " + chars(r, 40, ALNUM + "/+"),
            ),
            2,
            "aws-credentials-file",
        ),
        (
            ".npmrc",
            _lines(
                "registry=https://registry.npmjs.org/",
                f"//npm.{host}/:_authToken={chars(r, 36, ALNUM)}",
            ),
            2,
            "npmrc",
        ),
        (
            "settings.xml",
            _lines(
                "<settings>",
                "  <servers>",
                "    <server>",
                "      <id>corp-releases</id>",
                f"      <username>{user}</username>",
                f"      <password>{pw}</password>",
                "    </server>",
                "  </servers>",
                "</settings>",
            ),
            6,
            "maven-settings",
        ),
        (
            ".pypirc",
            _lines(
                "[distutils]",
                "index-servers = corp",
                "",
                "[corp]",
                f"repository = https://pypi.{host}/",
                f"username = {user}",
                f"password = {pw}",
            ),
            7,
            "pypirc",
        ),
        (
            "pip.conf",
            _lines("[global]", f"index-url = https://{user}:{pw}@pypi.{host}/simple"),
            2,
            "pip-conf",
        ),
        (
            ".s3cfg",
            _lines(
                "[default]",
                f"access_key = {TOKENS['aws.access-key-id'](r)[0]}",
                f"secret_key = {chars(r, 40, ALNUM + '/+')}",
            ),
            3,
            "s3cfg",
        ),
        (
            "sitemanager.xml",
            _lines(
                "<FileZilla3>",
                "  <Servers>",
                "    <Server>",
                f"      <Host>ftp.{host}</Host>",
                f"      <User>{user}</User>",
                f'      <Pass encoding="base64">{base64.b64encode(pw.encode()).decode()}</Pass>',
                "    </Server>",
                "  </Servers>",
                "</FileZilla3>",
            ),
            6,
            "filezilla",
        ),
        (
            "wp-config.php",
            _lines(
                "<?php", "define( 'DB_NAME', 'wordpress' );", f"define( 'DB_PASSWORD', '{pw}' );"
            ),
            3,
            "wordpress",
        ),
        (
            "database.yml",
            _lines(
                "production:", "  adapter: postgresql", f"  username: {user}", f"  password: {pw}"
            ),
            4,
            "rails-database",
        ),
        (
            "Db.java",
            _lines(
                "class Db {",
                f'  static final String URL = "jdbc:mysql://{host}:3306/app?user={user}&password={pw}";',
                "}",
            ),
            2,
            "jdbc-url",
        ),
        (
            "appsettings.json",
            json.dumps(
                {
                    "ConnectionStrings": {
                        "Default": f"Server={host};Database=app;User Id={user};Password={pw};"
                    }
                },
                indent=2,
            )
            + "\n",
            3,
            "ado-connection-string",
        ),
        (
            "build.gradle",
            _lines(
                "signingConfigs {",
                "  release {",
                "    storeFile file('release.jks')",
                f"    storePassword '{pw}'",
                f"    keyAlias '{user}'",
                "  }",
                "}",
            ),
            4,
            "keystore-password",
        ),
        (
            "sentry.js",
            _lines(
                f"Sentry.init({{ dsn: 'https://{chars(r, 32, HEX)}@o{chars(r, 6, DIGITS)}"
                f".ingest.sentry.io/{chars(r, 7, DIGITS)}' }});"
            ),
            1,
            "sentry-dsn",
        ),
        (
            "notify.py",
            _lines(
                "import requests",
                "WEBHOOK = ('https://"
                + chars(r, 8, LOWER)
                + ".webhook.office.com/webhookb2/"
                + uuid_text(r)
                + "@"
                + uuid_text(r)
                + "/IncomingWebhook/"
                + chars(r, 32, HEX)
                + "/"
                + uuid_text(r)
                + "')",
            ),
            2,
            "teams-webhook",
        ),
        (
            "api.rest",
            _lines(
                f"POST https://gateway.{host}/v1/jobs",
                f"Authorization: Token {api_key}",
                "Content-Type: application/json",
            ),
            2,
            "token-header",
        ),
        (
            "client.py",
            _lines(
                "from acme import Client", "", f'client = Client(api_key="{api_key}", region="eu")'
            ),
            3,
            "python-sdk-api-key",
        ),
        (
            "restore.sh",
            _lines("#!/bin/sh", f"mysql -u {user} -p{pw} -h db.{host} app < dump.sql"),
            2,
            "cli-password",
        ),
        (
            "sync.py",
            _lines("import requests", "", f'r = requests.get(URL, auth=("{user}", "{pw}"))'),
            3,
            "basic-auth-argument",
        ),
        (
            ".htpasswd",
            _lines(f"{user}:{{SHA}}" + base64.b64encode(r.randbytes(20)).decode()),
            1,
            "htpasswd",
        ),
        (
            "notify.py",
            _lines(
                "import smtplib",
                "",
                'with smtplib.SMTP_SSL("smtp.gmail.com", 465) as server:',
                f'    server.login("{user}@{host}", "{pw}")',
            ),
            4,
            "login-call",
        ),
        (
            "settings.py",
            _lines(
                'EMAIL_HOST = "smtp.gmail.com"',
                f'EMAIL_HOST_USER = "{user}@gmail.com"',
                f'EMAIL_HOST_PASSWORD = "{_app_password(r)}"',
            ),
            3,
            "app-password",
        ),
        (
            "settings.py",
            _lines(
                "DEBUG = False",
                f"SECRET_KEY = '{_django_secret_key(r)}'",
                'ALLOWED_HOSTS = ["shop.corp.io"]',
            ),
            2,
            "django-secret-key",
        ),
        (
            "store.go",
            _lines(
                "package store",
                "",
                f'var dsn = "{user}:{pw}@tcp(mysql.{host}:3306)/orders?parseTime=true"',
            ),
            3,
            "go-mysql-dsn",
        ),
        (
            "redis.conf",
            _lines("bind 0.0.0.0", "port 6379", f"requirepass {pw}", "appendonly yes"),
            3,
            "redis-requirepass",
        ),
        (
            "deploy.ps1",
            _lines(
                f'$user = "CORP\\{user}"',
                f'$secure = ConvertTo-SecureString "{pw}" -AsPlainText -Force',
                "$cred = New-Object System.Management.Automation.PSCredential($user, $secure)",
            ),
            2,
            "powershell-securestring",
        ),
        (
            "mailer.js",
            _lines(
                "const transporter = nodemailer.createTransport({",
                f"  host: 'smtp.{host}', port: 587,",
                f"  auth: {{ user: '{user}@{host}', pass: '{pw}' }},",
                "});",
            ),
            3,
            "nodemailer-pass",
        ),
        (
            "wp-config.php",
            _lines(
                "<?php",
                "define( 'DB_NAME', 'shop' );",
                f"define( 'LOGGED_IN_SALT',   '{_wordpress_salt(r)}' );",
            ),
            3,
            "wordpress-salt",
        ),
        _service_key(r),
        (
            ".env",
            _lines(
                "APP_NAME=Shop",
                "APP_ENV=production",
                f"APP_KEY=base64:{base64.b64encode(r.randbytes(32)).decode()}",
            ),
            3,
            "laravel-app-key",
        ),
        _credential_call(r, pw, user, host),
        (
            ".env.local",
            _lines(
                f"SUPABASE_URL=https://{chars(r, 20, LOWER)}.supabase.co",
                f"SUPABASE_SERVICE_ROLE_KEY={_supabase_key(r, 'service_role')}",
            ),
            2,
            "supabase-service-role",
        ),
        (
            "config.php",
            _lines(
                "<?php", f'$dbhost = "db.{host}";', f'$dbuser = "{user}";', f"$dbpass = '{pw}';"
            ),
            4,
            "php-dbpass",
        ),
    ]


def _supabase_key(r: random.Random, role: str) -> str:
    """A Supabase project key as the dashboard shows it: an HS256 JWT naming its role."""
    claims = {"iss": "supabase", "ref": chars(r, 20, LOWER), "role": role, "iat": 1700000000}
    signature = base64.urlsafe_b64encode(r.randbytes(32)).decode().rstrip("=")
    return jwt({"alg": "HS256", "typ": "JWT"}, claims, signature)


def _credential_call(r: random.Random, pw: str, user: str, host: str) -> tuple[str, str, int, str]:
    """A password passed by position to a call that connects or builds a credential."""
    name, line = r.choice(
        (
            ("db.php", f'$link = mysqli_connect("db.{host}", "{user}", "{pw}", "shop");'),
            ("db.php", f"$pdo = new PDO('mysql:host=db.{host};dbname=shop', '{user}', '{pw}');"),
            (
                "Db.java",
                f'    return DriverManager.getConnection("jdbc:mysql://db.{host}/shop", '
                f'"{user}", "{pw}");',
            ),
            ("mail.go", f'auth := smtp.PlainAuth("", "{user}@{host}", "{pw}", "smtp.{host}")'),
            ("Mailer.cs", f'client.Credentials = new NetworkCredential("{user}", "{pw}");'),
            ("sync.py", f"ftp = ftplib.FTP('ftp.{host}', '{user}', '{pw}')"),
        )
    )
    return name, _lines("// connection", line), 2, "credential-call"


# Names an application gives the key of a service it calls, in the spellings of each language.
_SERVICE_KEY_PLACES = (
    ("settings.py", "{name}_key = '{value}'", str.lower),
    (".env", "{name}_KEY={value}", str.upper),
    ("config.yaml", "{name}_key: {value}", str.lower),
    ("client.ts", 'const {name}Key = "{value}";', str.lower),
    ("appsettings.json", '{{"{name}-key": "{value}"}}', str.lower),
    ("config.rb", ":{name}_key => '{value}',", str.lower),
)


def _service_key(r: random.Random) -> tuple[str, str, int, str]:
    """A key named after the service it calls (`mailgun_key`, `MAPBOX_KEY`, `weatherKey`)."""
    service = r.choice(("mailgun", "mapbox", "weather", "geocoder", "openai", "sendgrid", "sms"))
    file_name, line, case = r.choice(_SERVICE_KEY_PLACES)
    value = chars(r, r.choice((24, 32, 40)), ALNUM)
    text = _lines("# service credentials", line.format(name=case(service), value=value))
    return file_name, text, 2, "service-key"


def _wordpress_salt(r: random.Random) -> str:
    """A key as WordPress's secret-key service makes them: 64 characters from its alphabet."""
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"
    return "".join(r.choice(alphabet) for _ in range(64))


def _django_secret_key(r: random.Random) -> str:
    """A key as Django's startproject writes it: its alphabet has `$`, `(`, `)`, `%`, `*`."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)"
    return "django-insecure-" + "".join(r.choice(alphabet) for _ in range(50))


def _app_password(r: random.Random) -> str:
    """A Google app password as Google shows it: four groups of four random letters (one
    of them, at least, without a vowel, as most of them are)."""
    groups = [chars(r, 4, LOWER) for _ in range(4)]
    groups[r.randrange(4)] = chars(r, 4, "bcdfghjklmnpqrstvwxz")
    return " ".join(groups)


def _private_key(r: random.Random) -> tuple[str, str, int, str]:
    body = base64.b64encode(r.randbytes(1190)).decode()
    rows = [body[i : i + 64] for i in range(0, len(body), 64)]
    begin, end = "-----BEGIN " + "RSA PRIVATE KEY-----", "-----END " + "RSA PRIVATE KEY-----"
    if r.random() < 0.5:
        return "id_rsa", _lines(begin, *rows, end), 1, "private-key"
    # A traditional key `openssl genrsa -aes256` encrypted: RFC 1421 headers, then a blank line.
    headers = ("Proc-Type: 4,ENCRYPTED", f"DEK-Info: AES-256-CBC,{chars(r, 32, HEX).upper()}", "")
    return "server.key", _lines(begin, *headers, *rows, end), 1, "private-key"


# Credentials without a provider prefix: a well-known file format, or a private key; the rest
# (assignments, headers, URLs, SDK arguments) is the generic family's job.
CREDENTIAL_FAMILIES = {
    **dict.fromkeys(
        (
            "netrc",
            "pgpass",
            "git-credentials",
            "docker-config",
            "npmrc",
            "htpasswd",
            "filezilla",
            "maven-settings",
            "pypirc",
            "pip-conf",
            "s3cfg",
            "aws-credentials-file",
        ),
        "credential-files",
    ),
    "private-key": "private-keys",
}


# ---- hard negatives -------------------------------------------------------------------------

Negative = Callable[[random.Random], tuple[str, str]]


NEGATIVES: dict[str, Negative] = {
    "documented-example": lambda r: (
        "docs.md",
        _lines(
            "Example (from the AWS documentation):",
            "",
            "    aws_access_key_id = " + "AKIAIOSFODNN7" + "EXAMPLE",
            "    aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
        ),
    ),
    "placeholder": lambda r: (
        ".env.example",
        _lines(
            "GITHUB_TOKEN=<your-github-token>",
            "STRIPE_SECRET_KEY=" + "sk" + "_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "DB_PASSWORD=changeme",
            "API_KEY=${API_KEY}",
            "SECRET_TOKEN={{ secret_token }}",
        ),
    ),
    "placeholder-names": lambda r: (
        "tests/test_connect_args.py",
        _lines(
            "def test_token_injection():",
            '    user = "someuser%3BPORT%3D50001"',
            '    password = "somepw%3BPORT%3D50001"',
            '    url = "mssql+pyodbc://someuser:somepassword@somehost/somedb"',
            '    api_key = "some_api_key"',
        ),
    ),
    "template": lambda r: (
        "values.yaml",
        _lines(
            "auth:",
            "  password: {{ .Values.db.password }}",
            "  token: ${TOKEN}",
            "  apiKey: %(api_key)s",
        ),
    ),
    "variable-as-value": lambda r: (
        "settings.py",
        _lines(
            "import os",
            'PASSWORD = os.environ["DB_PASSWORD"]',
            "api_key = settings.API_KEY",
            "secret = get_secret('stripe')",
            "password: str = field(default=None)",
        ),
    ),
    "hex-digest": lambda r: (
        "CHANGELOG.md",
        _lines(
            f"- fix cache eviction ({chars(r, 40, HEX)})",
            f"sha256: {chars(r, 64, HEX)}",
            f'checksum = "{chars(r, 32, HEX)}"',
        ),
    ),
    "lockfile-integrity": lambda r: (
        "package-lock.json",
        json.dumps(
            {
                "packages": {
                    f"node_modules/{chars(r, 6, LOWER)}": {
                        "version": "1.2.3",
                        "integrity": "sha512-" + base64.b64encode(r.randbytes(64)).decode(),
                    }
                }
            },
            indent=2,
        )
        + "\n",
    ),
    "go-sum": lambda r: (
        "go.sum",
        _lines(
            f"github.com/{chars(r, 5, LOWER)}/lib v1.4.0 h1:"
            + base64.b64encode(r.randbytes(32)).decode()
        ),
    ),
    "sri-csp": lambda r: (
        "index.html",
        _lines(
            '<script src="https://cdn.example.com/lib.js" integrity="sha384-'
            + base64.b64encode(r.randbytes(48)).decode()
            + '" crossorigin="anonymous"></script>',
            '<meta http-equiv="Content-Security-Policy" content="script-src \'sha256-'
            + base64.b64encode(r.randbytes(32)).decode()
            + "'\">",
        ),
    ),
    "source-map": lambda r: (
        "app.js.map",
        json.dumps(
            {"version": 3, "mappings": ";".join(chars(r, 12, ALNUM + "+/") for _ in range(40))}
        )
        + "\n",
    ),
    "webpack-chunk": lambda r: (
        "asset-manifest.json",
        json.dumps(
            {f"main.{chars(r, 20, HEX)}.js": f"/static/js/main.{chars(r, 20, HEX)}.chunk.js"}
        )
        + "\n",
    ),
    "uuid": lambda r: (
        "fixtures.json",
        json.dumps(
            {"request_id": uuid_text(r), "tenant_token_id": uuid_text(r), "trace": uuid_text(r)}
        )
        + "\n",
    ),
    "public-key": lambda r: (
        "authorized_keys",
        _lines(
            "ssh-rsa " + base64.b64encode(r.randbytes(279)).decode() + " deploy@ci",
            "ssh-ed25519 " + base64.b64encode(r.randbytes(51)).decode() + " dev@laptop",
        ),
    ),
    "certificate": lambda r: (
        "ca.pem",
        "-----BEGIN CERTIFICATE-----\n"
        + "\n".join(base64.b64encode(r.randbytes(48)).decode() for _ in range(12))
        + "\n-----END CERTIFICATE-----\n",
    ),
    "wrong-checksum": lambda r: (
        "tests.py",
        _lines(
            "BAD_TOKEN = '" + "gh" + "p_" + chars(r, 36) + "'  # checksum does not verify",
            "OTHER = '" + "np" + "m_" + chars(r, 36) + "'",
        ),
    ),
    "low-entropy": lambda r: (
        "defaults.ini",
        _lines(
            "[auth]",
            "token = aaaaaaaaaaaaaaaaaaaaaaaa",
            "secret = 1234567890abcdef1234",
            "api_key = test_test_test_test",
        ),
    ),
    "default-credentials": lambda r: (
        "docker-compose.yml",
        _lines(
            "services:",
            "  db:",
            "    environment:",
            "      POSTGRES_PASSWORD: postgres",
            "      DATABASE_URL: postgres://postgres:postgres@localhost:5432/test",
        ),
    ),
    "password-hash": lambda r: (
        "users.yaml",
        _lines(
            "admin:",
            '  password_hash: "$2b$12$' + chars(r, 53, ALNUM + "./") + '"',
        ),
    ),
    "html-form": lambda r: (
        "login.html",
        _lines(
            '<input type="password" name="password" placeholder="Password">',
            '<label for="api_key">API key</label>',
        ),
    ),
    "publishable-key": lambda r: (
        "checkout.js",
        _lines("const stripe = Stripe('" + "pk" + "_live_" + chars(r, 99) + "');"),
    ),
    "base64-image": lambda r: (
        "logo.css",
        _lines(
            ".logo { background: url(data:image/png;base64,"
            + base64.b64encode(r.randbytes(400)).decode()
            + "); }"
        ),
    ),
    "random-identifiers": lambda r: (
        "generated_pb2.py",
        _lines(
            "_DESCRIPTOR = b'" + "".join(f"\\x{r.randint(0, 255):02x}" for _ in range(40)) + "'",
            f"CACHE_KEY_PREFIX = 'v2_{chars(r, 10, LOWER)}_{chars(r, 8, LOWER)}'",
            f"class {chars(r, 1, 'ABCDEFG')}{chars(r, 12, LOWER)}TokenSerializer(Base): pass",
        ),
    ),
    "test-fixture-url": lambda r: (
        "test_db.py",
        _lines(
            'ENGINE = "postgresql://user:password@localhost/test"',
            'REDIS = "redis://:@127.0.0.1:6379/0"',
            'AMQP = "amqp://guest:guest@example.com//"',
        ),
    ),
    "percent-encoded-noise": lambda r: (
        "links.md",
        _lines(
            "[search](https://www.example.org/search?q="
            + urllib.parse.quote(f"token rotation guide {chars(r, 6, LOWER)}", safe="")
            + ")"
        ),
    ),
    "commit-sha-list": lambda r: (
        ".git-blame-ignore-revs",
        _lines(*(chars(r, 40, HEX) for _ in range(5))),
    ),
    # Names ending in "key" for data structures, caches and public keys, holding generated
    # or versioned values that are no credential.
    "key-names": lambda r: (
        "keys.py",
        _lines(
            f'cache_key = "user-profile-{chars(r, 8, LOWER)}-v2-{r.randint(1000, 9999)}"',
            f'idempotency_key = "{chars(r, 8, HEX)}-{chars(r, 4, HEX)}-4{chars(r, 3, HEX)}-'
            f'a{chars(r, 3, HEX)}-{chars(r, 12, HEX)}"',
            'model_key = "gpt-4o-mini-2024-07-18"',
            f'publishable_key = "{chars(r, 32, ALNUM)}"',
            f'RECAPTCHA_SITE_KEY = "{chars(r, 40, ALNUM)}"',
            f'sha_key = "{chars(r, 40, HEX)}"',
            f'primaryKey: "order_{r.randint(1, 99)}_line_{r.randint(1, 99)}"',
            'storage_key = "uploads/2024/03/avatar-1234567890.png"',
        ),
    ),
    # Validation rules for the password field of a form (Laravel, CodeIgniter).
    "validation-rules": lambda r: (
        "RegisterController.php",
        _lines(
            "return Validator::make($data, [",
            "    'name' => 'required|string|max:255',",
            f"    'password' => 'required|string|min:{r.randint(6, 12)}|confirmed',",
            "]);",
            "$rules['password'] = \"required|matches[passconf]\";",
        ),
    ),
    # Sample Secrets whose passwords encode a word or a few characters (`quobyte`, `mpass`).
    "k8s-sample-passwords": lambda r: (
        "chap-secret.yaml",
        _lines(
            "apiVersion: v1",
            "kind: Secret",
            "metadata:",
            "  name: chap-secret",
            "type: kubernetes.io/iscsi-chap",
            "data:",
            "  node.session.auth.username: " + base64.b64encode(b"muser").decode(),
            "  node.session.auth.password: "
            + base64.b64encode(chars(r, r.randint(4, 7), LOWER + DIGITS).encode()).decode(),
            "  password: " + base64.b64encode(chars(r, r.randint(8, 12), LOWER).encode()).decode(),
        ),
    ),
    # Supabase's anon key ships in every browser client, as its documentation tells.
    "supabase-anon-key": lambda r: (
        "supabaseClient.ts",
        _lines(
            f'const supabaseUrl = "https://{chars(r, 20, LOWER)}.supabase.co";',
            f'const supabaseAnonKey = "{_supabase_key(r, "anon")}";',
            "export const supabase = createClient(supabaseUrl, supabaseAnonKey);",
        ),
    ),
    # Algolia's search-only key, which DocSearch and the docs themes built on it put in every
    # page (Algolia's own documentation calls it safe to expose).
    "algolia-search-key": lambda r: r.choice(
        [
            (
                "docs/_templates/search.html",
                _lines(
                    '<script type="text/javascript" onload="docsearch({',
                    f"  apiKey: '{chars(r, 32, HEX)}',",
                    f"  indexName: '{chars(r, 8, LOWER)}',",
                    "  inputSelector: '#search',",
                    '})"></script>',
                ),
            ),
            (
                "docusaurus.config.js",
                _lines(
                    "module.exports = {",
                    "  themeConfig: {",
                    "    algolia: {",
                    f"      appId: '{chars(r, 10, UPPER + DIGITS)}',",
                    f"      apiKey: '{chars(r, 32, HEX)}',",
                    f"      indexName: '{chars(r, 8, LOWER)}',",
                    "    },",
                    "  },",
                    "};",
                ),
            ),
        ]
    ),
    # jwt.io's example claims (whatever key signed them) and unsigned (`alg: none`) tokens.
    "jwt-examples": lambda r: (
        "test_auth.py",
        _lines(
            f'JWT_IO_EXAMPLE = "{_signed_jwt(r, _JWT_IO_CLAIMS)}"',
            f'UNSIGNED = "{_unsigned_jwt(r)}"',
        ),
    ),
    "numbers": lambda r: (
        "metrics.csv",
        _lines(
            "ts,value,id",
            *(
                f"{r.randint(10**9, 10**10)},{r.random():.6f},{chars(r, 16, DIGITS)}"
                for _ in range(5)
            ),
        ),
    ),
}


def build(root: Path, seed: int = SEED, copies: int = 3) -> Corpus:
    """Write the corpus below `root` and return its labels."""
    r = random.Random(seed)
    positives: list[Label] = []
    # Families come from the rule files that declare each rule.
    from keyscan.rules.doc import family
    from keyscan.rules.load import load_rules

    families = {rule.id: family(rule) for rule in load_rules()}
    placements = list(PLACEMENTS.items())
    counter = 0
    for rule_id, token in sorted(TOKENS.items()):
        for copy in range(copies + 2):
            secret, var = token(r)
            kind, (name, place) = placements[(counter + copy * 5) % len(placements)]
            counter += 1
            text, line = place(secret, var, r)
            path = f"pos/{rule_id.replace('.', '-')}/{copy}-{kind}/{name}"
            _write(root / path, text)
            positives.append(Label(path, line, families[rule_id], kind))
    for copy in range(copies * 4):
        for name, text, line, kind in [*_credential_files(r), _private_key(r)]:
            path = f"creds/{kind}/{copy}/{name}"
            _write(root / path, text)
            positives.append(Label(path, line, CREDENTIAL_FAMILIES.get(kind, "generic"), kind))
    negative_kinds: dict[str, int] = {}
    negative_files = 0
    for copy in range(copies * 6):
        for kind, make in NEGATIVES.items():
            name, text = make(r)
            _write(root / f"neg/{kind}/{copy}/{name}", text)
            negative_kinds[kind] = negative_kinds.get(kind, 0) + 1
            negative_files += 1
    return Corpus(root, positives, negative_files, negative_kinds)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
