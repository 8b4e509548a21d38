"""Synthetic provider credentials in each provider's documented shape, from a seeded generator.

Every function returns (secret, variable name a developer would use). Checksummed formats get a
correct checksum. Nothing here is a real credential, and nothing secret-shaped is stored: the
values exist only at run time.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable

from keyscan.checksums import base62_crc32

LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
DIGITS = string.digits
ALNUM = string.ascii_letters + DIGITS
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "_-"

Token = Callable[[random.Random], tuple[str, str]]


def jwt(header: dict[str, object], claims: dict[str, object], signature: str) -> str:
    """A JWT as issuers write it: header and claims as compact JSON in unpadded base64url, then
    the signature."""

    def segment(part: dict[str, object]) -> str:
        raw = json.dumps(part, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{segment(header)}.{segment(claims)}.{signature}"


def chars(r: random.Random, n: int, alphabet: str = ALNUM) -> str:
    # Mixed enough to look like a real random token (no accidental runs that filters would drop).
    while True:
        value = "".join(r.choice(alphabet) for _ in range(n))
        if len(set(value)) > min(n, len(set(alphabet))) // 2:
            return value


def _crc(prefix: str, r: random.Random) -> str:
    body = chars(r, 30)
    return prefix + body + base62_crc32(body)


def _p(*parts: str) -> str:
    # Prefixes are assembled so that this file holds no token-shaped literal.
    return "".join(parts)


TOKENS: dict[str, Token] = {
    "github.pat-classic": lambda r: (_crc(_p("gh", "p_"), r), "GITHUB_TOKEN"),
    "github.oauth-token": lambda r: (_crc(_p("gh", "o_"), r), "GH_OAUTH_TOKEN"),
    "github.fine-grained-pat": lambda r: (
        _p("github", "_pat_") + "11" + chars(r, 20, UPPER + DIGITS) + "_" + chars(r, 59),
        "GITHUB_PAT",
    ),
    "gitlab.personal-access-token": lambda r: (
        _p("gl", "pat-") + chars(r, 20, URLSAFE),
        "GITLAB_TOKEN",
    ),
    "gitlab.runner-token": lambda r: (_p("gl", "rt-") + chars(r, 20, URLSAFE), "RUNNER_TOKEN"),
    "slack.bot-token": lambda r: (
        "-".join([_p("xo", "xb"), chars(r, 12, DIGITS), chars(r, 13, DIGITS), chars(r, 24)]),
        "SLACK_BOT_TOKEN",
    ),
    "slack.user-token": lambda r: (
        "-".join(
            [
                _p("xo", "xp"),
                chars(r, 12, DIGITS),
                chars(r, 12, DIGITS),
                chars(r, 13, DIGITS),
                chars(r, 32, HEX),
            ]
        ),
        "SLACK_USER_TOKEN",
    ),
    "slack.webhook-url": lambda r: (
        _p("https://hooks.", "slack.com/services/T")
        + chars(r, 10, UPPER + DIGITS)
        + "/B"
        + chars(r, 10, UPPER + DIGITS)
        + "/"
        + chars(r, 24),
        "SLACK_WEBHOOK_URL",
    ),
    "discord.webhook-url": lambda r: (
        _p("https://discord", ".com/api/webhooks/")
        + chars(r, 19, DIGITS)
        + "/"
        + chars(r, 68, URLSAFE),
        "DISCORD_WEBHOOK",
    ),
    "stripe.secret-key": lambda r: (_p("sk", "_live_") + chars(r, 99), "STRIPE_SECRET_KEY"),
    "stripe.restricted-key": lambda r: (_p("rk", "_live_") + chars(r, 99), "STRIPE_KEY"),
    "sendgrid.api-key": lambda r: (
        _p("S", "G.") + chars(r, 22, URLSAFE) + "." + chars(r, 43, URLSAFE),
        "SENDGRID_API_KEY",
    ),
    "twilio.auth-token": lambda r: (chars(r, 32, HEX), "TWILIO_AUTH_TOKEN"),
    "mailgun.api-key": lambda r: (_p("ke", "y-") + chars(r, 32, LOWER + DIGITS), "MAILGUN_API_KEY"),
    "mailchimp.api-key": lambda r: (
        chars(r, 32, HEX) + "-us" + str(r.randint(1, 21)),
        "MAILCHIMP_KEY",
    ),
    "aws.access-key-id": lambda r: (
        _p("AK", "IA") + chars(r, 16, UPPER + "234567"),
        "AWS_ACCESS_KEY_ID",
    ),
    "google.api-key": lambda r: (_p("AI", "za") + chars(r, 35, URLSAFE), "GOOGLE_API_KEY"),
    "google.oauth-access-token": lambda r: (
        _p("ya", "29.a0") + chars(r, 150, URLSAFE),
        "GOOGLE_ACCESS_TOKEN",
    ),
    "azure.storage-account-key": lambda r: (
        "DefaultEndpointsProtocol=https;AccountName="
        + chars(r, 10, LOWER)
        + ";AccountKey="
        + chars(r, 86, ALNUM + "+/")
        + "==;EndpointSuffix=core.windows.net",
        "AZURE_STORAGE_CONNECTION_STRING",
    ),
    "alibaba.access-key-id": lambda r: (_p("LT", "AI") + chars(r, 20), "ALIBABA_ACCESS_KEY_ID"),
    "digitalocean.personal-access-token": lambda r: (
        _p("do", "p_v1_") + chars(r, 64, HEX),
        "DIGITALOCEAN_TOKEN",
    ),
    "heroku.api-key": lambda r: (_p("HR", "KU-AA") + chars(r, 58, URLSAFE), "HEROKU_API_KEY"),
    "cloudflare.api-token": lambda r: (
        _p("cf", "ut_") + chars(r, 40) + chars(r, 8, HEX),
        "CLOUDFLARE_API_TOKEN",
    ),
    "vercel.token": lambda r: (_p("vc", "p_") + chars(r, 40), "VERCEL_TOKEN"),
    "openai.api-key": lambda r: (
        _p("sk", "-proj-") + chars(r, 74, URLSAFE) + _p("T3Blbk", "FJ") + chars(r, 74, URLSAFE),
        "OPENAI_API_KEY",
    ),
    "anthropic.api-key": lambda r: (
        _p("sk", "-ant-api03-") + chars(r, 93, URLSAFE) + "AA",
        "ANTHROPIC_API_KEY",
    ),
    "huggingface.access-token": lambda r: (
        _p("h", "f_") + chars(r, 34, string.ascii_letters),
        "HF_TOKEN",
    ),
    "groq.api-key": lambda r: (_p("gs", "k_") + chars(r, 52), "GROQ_API_KEY"),
    "perplexity.api-key": lambda r: (_p("pp", "lx-") + chars(r, 48), "PERPLEXITY_API_KEY"),
    "replicate.api-token": lambda r: (_p("r", "8_") + chars(r, 37), "REPLICATE_API_TOKEN"),
    "npm.access-token": lambda r: (_crc(_p("np", "m_"), r), "NPM_TOKEN"),
    "pypi.api-token": lambda r: (
        _p("py", "pi-") + "AgEIcHlwaS5vcmc" + chars(r, 120, URLSAFE),
        "PYPI_TOKEN",
    ),
    "rubygems.api-key": lambda r: (_p("ruby", "gems_") + chars(r, 48, HEX), "GEM_HOST_API_KEY"),
    "shopify.access-token": lambda r: (_p("sh", "pat_") + chars(r, 32, HEX), "SHOPIFY_TOKEN"),
    "databricks.api-token": lambda r: (_p("da", "pi") + chars(r, 32, HEX), "DATABRICKS_TOKEN"),
    "linear.api-key": lambda r: (_p("lin", "_api_") + chars(r, 40), "LINEAR_API_KEY"),
    "postman.api-key": lambda r: (
        _p("PM", "AK-") + chars(r, 24, HEX) + "-" + chars(r, 34, HEX),
        "POSTMAN_API_KEY",
    ),
    "hashicorp.vault-service-token": lambda r: (
        _p("hv", "s.") + chars(r, 90, URLSAFE),
        "VAULT_TOKEN",
    ),
    "grafana.service-account-token": lambda r: (
        _p("gl", "sa_") + chars(r, 32) + "_" + chars(r, 8, HEX),
        "GRAFANA_TOKEN",
    ),
    "doppler.token": lambda r: (_p("dp", ".pt.") + chars(r, 43), "DOPPLER_TOKEN"),
    "pulumi.access-token": lambda r: (_p("pu", "l-") + chars(r, 40, HEX), "PULUMI_ACCESS_TOKEN"),
    "buildkite.api-token": lambda r: (_p("bk", "ua_") + chars(r, 40, HEX), "BUILDKITE_API_TOKEN"),
    "newrelic.user-api-key": lambda r: (
        _p("NR", "AK-") + chars(r, 27, UPPER + DIGITS),
        "NEW_RELIC_API_KEY",
    ),
    "dynatrace.api-token": lambda r: (
        _p("dt0", "c01.") + chars(r, 24, UPPER + DIGITS) + "." + chars(r, 64, UPPER + DIGITS),
        "DT_API_TOKEN",
    ),
    "figma.personal-access-token": lambda r: (
        _p("fi", "gd_") + chars(r, 40, URLSAFE),
        "FIGMA_TOKEN",
    ),
    "square.application-secret": lambda r: (
        _p("sq0", "csp-") + chars(r, 43, URLSAFE),
        "SQUARE_SECRET",
    ),
    "age.secret-key": lambda r: (
        _p("AGE-SECRET", "-KEY-1") + chars(r, 58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
        "SOPS_AGE_KEY",
    ),
    "telegram.bot-token": lambda r: (
        chars(r, 10, DIGITS) + ":A" + chars(r, 34, URLSAFE),
        "TELEGRAM_BOT_TOKEN",
    ),
    "openrouter.api-key": lambda r: (_p("sk-or", "-v1-") + chars(r, 64, HEX), "OPENROUTER_API_KEY"),
    "nvidia.api-key": lambda r: (_p("nv", "api-") + chars(r, 64, URLSAFE), "NVIDIA_API_KEY"),
    "posthog.personal-api-key": lambda r: (
        _p("ph", "x_") + chars(r, 43),
        "POSTHOG_PERSONAL_API_KEY",
    ),
    "launchdarkly.access-token": lambda r: (_p("ap", "i-") + uuid_text(r), "LD_ACCESS_TOKEN"),
    "telnyx.api-key": lambda r: (
        _p("KE", "Y") + chars(r, 32, "0123456789ABCDEF") + "_" + chars(r, 22),
        "TELNYX_API_KEY",
    ),
    "brevo.api-key": lambda r: (
        _p("xkey", "sib-") + chars(r, 64, HEX) + "-" + chars(r, 16),
        "BREVO_API_KEY",
    ),
    "resend.api-key": lambda r: (
        _p("r", "e_") + chars(r, 8) + "_" + chars(r, 24),
        "RESEND_API_KEY",
    ),
    "clickup.api-token": lambda r: (
        _p("p", "k_") + chars(r, 8, DIGITS) + "_" + chars(r, 32, UPPER + DIGITS),
        "CLICKUP_TOKEN",
    ),
    "woocommerce.consumer-secret": lambda r: (
        _p("c", "s_") + chars(r, 40, HEX),
        "WC_CONSUMER_SECRET",
    ),
    "gocardless.access-token": lambda r: (
        _p("li", "ve_") + chars(r, 40, URLSAFE),
        "GOCARDLESS_TOKEN",
    ),
    "neon.api-key": lambda r: (_p("na", "pi_") + chars(r, 64, LOWER + DIGITS), "NEON_API_KEY"),
    "axiom.token": lambda r: (_p("xa", "at-") + uuid_text(r), "AXIOM_TOKEN"),
    "netlify.personal-access-token": lambda r: (
        _p("nf", "p_") + chars(r, 36),
        "NETLIFY_AUTH_TOKEN",
    ),
    "render.api-key": lambda r: (_p("rn", "d_") + chars(r, 32), "RENDER_API_KEY"),
    "tailscale.key": lambda r: (
        _p("tskey", "-auth-") + chars(r, 16) + "-" + chars(r, 33),
        "TS_AUTHKEY",
    ),
    "sourcegraph.access-token": lambda r: (
        _p("sg", "p_") + chars(r, 16, HEX) + "_" + chars(r, 40, HEX),
        "SRC_ACCESS_TOKEN",
    ),
    "twitter.bearer-token": lambda r: (
        "A" * 22 + chars(r, 90, ALNUM + "%"),
        "TWITTER_BEARER_TOKEN",
    ),
    "chromatic.project-token": lambda r: (
        _p("ch", "pt_") + chars(r, 14, HEX),
        "CHROMATIC_PROJECT_TOKEN",
    ),
    "azure.devops-pat": lambda r: (chars(r, 76) + "AZDO" + chars(r, 4), "AZURE_DEVOPS_PAT"),
    "hetzner.cloud-token": lambda r: (chars(r, 64), "HCLOUD_TOKEN"),
    "mistral.api-key": lambda r: (chars(r, 32), "MISTRAL_API_KEY"),
}


def uuid_text(r: random.Random) -> str:
    h = chars(r, 32, HEX)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def basic_pair(r: random.Random) -> str:
    return base64.b64encode(f"{chars(r, 8, LOWER)}:{password(r)}".encode()).decode()


def password(r: random.Random) -> str:
    """A human-chosen-looking strong password: words, digits and a symbol."""
    words = ["Falcon", "river", "Quartz", "maple", "Orbit", "velvet", "Cobalt", "tundra", "Ember"]
    return r.choice(words) + r.choice("!#%*-_.") + chars(r, 4, DIGITS) + r.choice(words).lower()
