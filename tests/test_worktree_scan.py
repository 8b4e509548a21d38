"""Working-tree scans through the real command line, on real files and real git repositories."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from keyscan.entropy import shannon_entropy
from tests.conftest import git, run_keyscan
from tests.corpus.tokens import URLSAFE, jwt
from tests.fakes import CUSTOM_RULE, custom_token, github_pat, password, random_chars, rng


def scan_json(*args: str, cwd: Path | None = None) -> tuple[int, dict]:
    done = run_keyscan(*args, "--format", "json", "--no-progress", cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def custom_rules(tmp_path: Path) -> Path:
    path = tmp_path / "custom-rules.yaml"
    path.write_text(CUSTOM_RULE)
    return path


def test_clean_directory_exits_zero_with_a_summary(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing to see here\n")
    done = run_keyscan(str(tmp_path), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "No secrets found" in done.stdout
    assert "files scanned  1" in done.stdout


def test_secret_in_git_repo_is_reported_with_location_and_exit_one(make_repo) -> None:
    repo = make_repo()
    token = github_pat(rng(1))
    (repo / "settings.py").write_text(f"DEBUG = True\nGITHUB_TOKEN = '{token}'\n")
    git(repo, "add", "settings.py")
    code, report = scan_json(str(repo))
    assert code == 1
    [finding] = report["findings"]
    assert finding["path"] == "settings.py"
    assert (finding["line"], finding["column"]) == (2, 17)
    assert finding["end_line"] == 2 and finding["end_column"] == 17 + len(token)
    assert finding["secret"] != token and token not in json.dumps(report)
    assert finding["severity"] in ("high", "critical")
    assert len(finding["fingerprint"]) == 64


def test_show_secrets_reveals_the_value(make_repo) -> None:
    repo = make_repo()
    token = github_pat(rng(2))
    (repo / "a.env").write_text(f"TOKEN={token}\n")
    code, report = scan_json(str(repo), "--show-secrets")
    assert code == 1
    assert report["findings"][0]["secret"] == token


def test_git_repo_scans_untracked_but_not_ignored_files(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    rules = custom_rules(tmp_path)
    r = rng(3)
    (repo / ".gitignore").write_text("ignored.txt\nbuild/\n")
    (repo / "tracked.txt").write_text(f"a = {custom_token(r)}\n")
    (repo / "untracked.txt").write_text(f"b = {custom_token(r)}\n")
    (repo / "ignored.txt").write_text(f"c = {custom_token(r)}\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.txt").write_text(f"d = {custom_token(r)}\n")
    git(repo, "add", "tracked.txt", ".gitignore")
    code, report = scan_json(str(repo), "--rules", str(rules))
    assert code == 1
    assert sorted(f["path"] for f in report["findings"]) == ["tracked.txt", "untracked.txt"]
    # Naming an ignored directory explicitly scans it: the user asked for exactly that.
    code, report = scan_json(str(repo / "build"), "--rules", str(rules))
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["out.txt"]


def test_outside_git_every_file_is_walked(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    (tree / "deep" / ".hidden").mkdir(parents=True)
    (tree / "deep" / ".hidden" / "x.cfg").write_text(f"k={custom_token(rng(4))}\n")
    code, report = scan_json(str(tree), "--rules", str(rules))
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["deep/.hidden/x.cfg"]


def test_a_file_is_binary_by_git_s_rule_a_nul_in_its_first_8000_bytes() -> None:
    from keyscan.model import is_binary

    assert is_binary(b"x" * 7999 + b"\x00")
    assert not is_binary(b"x" * 8000 + b"\x00")
    assert not is_binary(b"") and is_binary(b"\x00")


def test_binary_files_get_provider_rules_only_and_can_be_skipped(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    r = rng(5)
    payload = (
        b"\x00\x01\x02ELF\x00"
        + f"token={custom_token(r)}".encode()
        + b"\x00\xff\xfe"
        + f"db_password = '{password(r)}'".encode()
        + b"\x00"
    )
    (tree / "app.bin").write_bytes(payload)
    code, report = scan_json(str(tree), "--rules", str(rules))
    assert code == 1
    assert [f["rule_id"] for f in report["findings"]] == ["test.custom-token"]
    assert report["summary"]["binary_scanned"] == 1
    code, report = scan_json(str(tree), "--rules", str(rules), "--no-binary")
    assert code == 0
    assert report["summary"]["skipped_by_reason"] == {"binary": 1}


def test_oversize_files_are_skipped_and_counted(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "big.txt").write_text("x" * 5000 + f"\nk={custom_token(rng(6))}\n")
    (tree / "small.txt").write_text("fine\n")
    code, report = scan_json(str(tree), "--rules", str(rules), "--max-file-size", "4KB")
    assert code == 0
    assert report["summary"]["skipped_by_reason"] == {"too large": 1}
    assert report["summary"]["files_scanned"] == 1


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlinks_out_of_tree_and_loops_are_skipped(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text(f"k={custom_token(rng(7))}\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link-out").symlink_to(outside)
    (tree / "loop-a").symlink_to(tree / "loop-b")
    (tree / "loop-b").symlink_to(tree / "loop-a")
    (tree / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    code, report = scan_json(str(tree), "--rules", str(rules))
    assert code == 0
    reasons = report["summary"]["skipped_by_reason"]
    assert reasons["symlink out of the tree"] == 2
    assert reasons["symlink loop"] == 2


def test_special_and_unreadable_files_are_reported_not_fatal(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / "pipe")
    secret_file = tree / "secret.txt"
    secret_file.write_text(f"k={custom_token(rng(8))}\n")
    locked = tree / "locked.txt"
    locked.write_text("x\n")
    locked.chmod(0)
    code, report = scan_json(str(tree), "--rules", str(rules))
    assert code == 1
    reasons = report["summary"]["skipped_by_reason"]
    assert reasons["not a regular file"] == 1
    if os.geteuid() != 0:  # root reads mode-000 files
        assert reasons["unreadable"] == 1


def test_invalid_utf8_is_scanned_and_columns_count_characters(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    token = custom_token(rng(9))
    (tree / "mixed.txt").write_bytes(
        b"\xff\xfe bad bytes\n" + "é = ".encode() + token.encode() + b"\n"
    )
    code, report = scan_json(str(tree), "--rules", str(rules))
    assert code == 1
    [finding] = report["findings"]
    assert (finding["line"], finding["column"]) == (2, 5)


def test_generic_password_is_found_and_placeholders_are_not(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / ".env").write_text(
        f"DB_PASSWORD={password(rng(10))}\nOTHER_PASSWORD=${{FROM_VAULT}}\nADMIN_PASSWORD=changeme\n"
    )
    code, report = scan_json(str(tree))
    assert code == 1
    assert [(f["rule_id"], f["line"]) for f in report["findings"]] == [
        ("generic.password-assignment", 1)
    ]


def test_names_standing_for_values_are_placeholders(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "test_connect.py").write_text(
        'token1 = "someuser%3BPORT%3D50001"\n'
        'token2 = "somepw%3BPORT%3D50001"\n'
        'url = "mssql+pyodbc://someuser:somepassword@somehost/somedb"\n'
        'api_key = "some_api_key"\n'
        f'password = "some{password(rng(13))}"\n'
    )
    code, report = scan_json(str(tree))
    assert code == 1
    # A value that merely starts with "some" is still a password.
    assert [(f["rule_id"], f["line"]) for f in report["findings"]] == [
        ("generic.password-assignment", 5)
    ]


def test_a_quoted_value_with_brackets_is_a_literal_and_a_call_is_not(tmp_path: Path) -> None:
    # Django's key alphabet has parentheses: `startproject` writes keys like these.
    r = rng(14)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)"
    key = "django-insecure-" + "".join(r.choice(alphabet) for _ in range(40)) + "x(c@%x2+i9"
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "settings.py").write_text(
        f"SECRET_KEY = '{key}'\n"
        "SECRET_KEY = 'get_secret_key(\"django\", default=None)'\n"
        "api_key = \"settings['PAYMENTS_API_KEY_2024']\"\n"
    )
    code, report = scan_json(str(tree), "--show-secrets")
    assert code == 1
    assert [(f["line"], f["secret"]) for f in report["findings"]] == [(1, key)]


def test_a_long_token_assigned_to_a_token_name_is_found(tmp_path: Path) -> None:
    # An RS256-signed JWT runs to 600 characters and more: the value's length limit must not
    # drop it.
    r = rng(16)
    signature = random_chars(r, 342, URLSAFE)
    claims = {"iss": "https://auth.corp.example", "sub": "svc-reports", "scope": "reports:read"}
    token = jwt({"alg": "RS256", "typ": "JWT"}, claims, signature)
    assert len(token) > 400
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "client.py").write_text(f'ACCESS_TOKEN = "{token}"\n')
    code, report = scan_json(str(tree), "--show-secrets")
    assert code == 1
    assert [(f["rule_id"], f["secret"]) for f in report["findings"]] == [
        ("generic.secret-assignment", token)
    ]


def test_a_supabase_anon_key_is_public_and_its_service_role_key_is_not(tmp_path: Path) -> None:
    r = rng(17)

    def supabase_key(role: str) -> str:
        claims = {"iss": "supabase", "ref": "qwertyuiopasdfghjklz", "role": role, "iat": 1700000000}
        signature = random_chars(r, 43, URLSAFE)
        return jwt({"alg": "HS256", "typ": "JWT"}, claims, signature)

    anon, service_role = supabase_key("anon"), supabase_key("service_role")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / ".env").write_text(
        f"NEXT_PUBLIC_SUPABASE_ANON_KEY={anon}\nSUPABASE_SERVICE_ROLE_KEY={service_role}\n"
    )
    (tree / "client.ts").write_text(f'const supabaseKey = "{anon}";\n')
    code, report = scan_json(str(tree), "--show-secrets")
    assert code == 1
    assert [(f["path"], f["secret"]) for f in report["findings"]] == [(".env", service_role)]


def test_template_openings_inside_generated_values_are_not_templates(tmp_path: Path) -> None:
    # WordPress's salt service draws from letters, digits and most symbols, so `{{`, `${`, `$(`
    # and `<...>` turn up inside salts around what no template engine would parse.
    r = rng(15)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    def salt(opening: str) -> str:
        left = "".join(r.choice(alphabet) for _ in range(30))
        right = "".join(r.choice(alphabet) for _ in range(29))
        return f"{left}{opening}{right}"

    salts = [salt("{{;"), salt("$(x#"), salt("${;"), salt("a}}b"), salt("<eW1>"), salt("<8>")]
    # A name then a space then an operator: no shell or template engine parses that.
    salts.append(salt("${m ="))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "wp-config.php").write_text(
        "".join(f"define( 'AUTH_SALT', '{value}' );\n" for value in salts)
        + "define( 'NONCE_SALT', '{{ wordpress_nonce_salt }}' );\n"
        + "define( 'AUTH_KEY', '${WORDPRESS_AUTH_KEY}' );\n"
        + "define( 'SECURE_AUTH_KEY', '$(cat /run/secrets/secure_auth_key)' );\n"
        + "define( 'LOGGED_IN_KEY', '{{.Values.loggedInKey}}' );\n"
    )
    code, report = scan_json(str(tree), "--show-secrets")
    assert code == 1
    assert [(f["line"], f["secret"]) for f in report["findings"]] == [
        (line, value) for line, value in enumerate(salts, start=1)
    ]


def test_inline_allow_marker_suppresses_and_audit_mode_restores(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text(f"k = '{custom_token(rng(11))}'  # keyscan:allow\n")
    code, _ = scan_json(str(tree), "--rules", str(rules))
    assert code == 0
    code, _ = scan_json(str(tree), "--rules", str(rules), "--no-inline-ignores")
    assert code == 1


def test_config_allowlist_paths_skip_fixtures(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    (tree / "fixtures").mkdir(parents=True)
    (tree / "fixtures" / "f.txt").write_text(f"k={custom_token(rng(12))}\n")
    (tree / ".keyscan.yaml").write_text("allowlist:\n  paths: [fixtures/]\n")
    code, report = scan_json(str(tree), "--rules", str(rules))
    assert code == 0
    assert report["summary"]["skipped_by_reason"] == {"allowlisted path": 1}


def test_output_file_is_written_whole(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    out = tmp_path / "report.json"
    done = run_keyscan(str(tree), "--format", "json", "-o", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["findings"] == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def test_output_through_a_link_replaces_the_file_and_keeps_link_and_mode(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tmp_path / "reports").mkdir()
    real = tmp_path / "reports" / "latest.json"
    real.write_text("old report\n")
    real.chmod(0o644)
    link = tmp_path / "report.json"
    link.symlink_to(real)
    done = run_keyscan(str(tree), "--format", "json", "-o", str(link), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == real
    assert json.loads(real.read_text())["findings"] == []
    assert real.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["latest.json"]


def test_output_to_a_pipe_is_written_into_it_not_replaced(tmp_path: Path) -> None:
    """A named pipe (or /dev/null, or a shell's >(...)) stays what it is: replacing it with a
    plain file, as root, once turned this machine's /dev/null into one."""
    import stat
    import threading

    tree = tmp_path / "tree"
    tree.mkdir()
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = run_keyscan(str(tree), "--format", "json", "-o", str(fifo), "--no-progress")
    reader.join(timeout=120)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(received[0])["findings"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.fifo", "tree"]


def test_output_to_a_descriptor_appends_to_what_the_shell_opened(tmp_path: Path) -> None:
    """`-o /dev/stdout >> log` (here /dev/fd/1: code that replaced the path could damage
    nothing there, where as root it replaced /dev/stdout itself)."""
    import subprocess

    tree = tmp_path / "tree"
    tree.mkdir()
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    argv = [sys.executable, "-m", "keyscan", str(tree), "--format", "json", "-o", "/dev/fd/1"]
    with log.open("a") as appended:
        done = subprocess.run(
            [*argv, "--no-progress"], stdout=appended, stderr=subprocess.PIPE, timeout=300
        )
    assert done.returncode == 0, done.stderr
    first, rest = log.read_text().split("\n", 1)
    assert first == "earlier line"
    assert json.loads(rest)["findings"] == []


def test_color_follows_no_color_and_flag(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text(f"k={custom_token(rng(13))}\n")
    forced = run_keyscan(str(tree), "--rules", str(rules), "--color", "--no-progress")
    assert "\x1b[" in forced.stdout
    plain = run_keyscan(
        str(tree), "--rules", str(rules), "--no-progress", env={"NO_COLOR": "1", "FORCE_COLOR": "1"}
    )
    assert "\x1b[" not in plain.stdout


def test_console_script_and_module_agree(tmp_path: Path) -> None:
    import subprocess

    script = Path(sys.executable).with_name("keyscan")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    via_script = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    via_module = run_keyscan("--version")
    assert via_script.returncode == via_module.returncode == 0
    assert via_script.stdout == via_module.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/keyscan-path"], "no such file or directory"),
        (["--format", "xml", "."], "Invalid value for '-f' / '--format'"),
        (["--max-file-size", "lots", "."], "invalid size"),
        (["--enable-rule", "no.such-rule", "."], "unknown rule id 'no.such-rule'"),
        # One mode at a time: with two, one of them would silently not run.
        (["--history", "--staged", "."], "--history and --staged cannot be combined"),
        (["--pre-push", "--diff", "a..b", "."], "--pre-push and --diff cannot be combined"),
        (["--history", "/nonexistent/keyscan-path"], "no such file or directory"),
    ],
)
def test_usage_errors_exit_two_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_keyscan(*args, "--no-progress", cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_config_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / ".keyscan.yaml").write_text("allowlist:\n  paths: [a/]\nunknown_key: 1\n")
    done = run_keyscan(str(tmp_path), "--no-progress")
    assert done.returncode == 2
    assert ".keyscan.yaml:3: unknown key 'unknown_key'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_malformed_yaml_config_names_the_line(tmp_path: Path) -> None:
    (tmp_path / ".keyscan.yaml").write_text("allowlist:\n  paths: [a/\n")
    done = run_keyscan(str(tmp_path), "--no-progress")
    assert done.returncode == 2
    assert ".keyscan.yaml:" in done.stderr and "invalid YAML" in done.stderr


def test_output_to_missing_directory_is_an_error(tmp_path: Path) -> None:
    done = run_keyscan(
        str(tmp_path), "-o", str(tmp_path / "no" / "such" / "r.json"), "--no-progress"
    )
    assert done.returncode == 2
    assert "cannot write report" in done.stderr


def _stderr_through_a_terminal(args: list[str], cwd: Path) -> str:
    import pty
    import subprocess

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PRE_COMMIT")}
    done = subprocess.run(
        [sys.executable, "-m", "keyscan", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        timeout=120,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert done.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_and_off_on_request(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"f{i}.txt").write_text("hello\n")
    assert "scanning" in _stderr_through_a_terminal(["."], tmp_path)
    assert "scanning" not in _stderr_through_a_terminal([".", "--no-progress"], tmp_path)


def test_config_at_the_repository_root_applies_to_a_subdirectory_scan(
    make_repo, tmp_path: Path
) -> None:
    repo = make_repo()
    rules = custom_rules(tmp_path)
    (repo / "src" / "fixtures").mkdir(parents=True)
    (repo / "src" / "fixtures" / "f.txt").write_text(f"k={custom_token(rng(14))}\n")
    (repo / ".keyscan.yaml").write_text("allowlist:\n  paths: [src/fixtures/]\n")
    git(repo, "add", ".")
    code, report = scan_json(str(repo / "src"), "--rules", str(rules))
    assert code == 0
    assert report["summary"]["skipped_by_reason"] == {"allowlisted path": 1}


def test_a_wrong_checksum_is_not_a_finding(tmp_path: Path) -> None:
    from tests.fakes import github_pat_bad_checksum

    tree = tmp_path / "tree"
    tree.mkdir()
    good, bad = github_pat(rng(15)), github_pat_bad_checksum(rng(16))
    (tree / "good.env").write_text(f"GITHUB_TOKEN={good}\n")
    (tree / "bad.env").write_text(f"GITHUB_TOKEN={bad}\n")
    code, report = scan_json(str(tree), "--show-secrets")
    assert code == 1
    assert [(f["path"], f["rule_id"], f["secret"]) for f in report["findings"]] == [
        ("good.env", "github.pat-classic", good)
    ]


def test_inline_allow_can_name_a_rule_and_expire(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    r = rng(17)
    (tree / "a.py").write_text(
        f"a = '{custom_token(r)}'  # keyscan:allow test.custom-token reason=x until=2999-01-01\n"
        f"b = '{custom_token(r)}'  # keyscan:allow other.rule\n"
        f"c = '{custom_token(r)}'  # keyscan:allow reason=rotated until=2001-01-01\n"
        "# keyscan:allow-next-line\n"
        f"d = '{custom_token(r)}'\n"
    )
    code, report = scan_json(str(tree), "--rules", str(rules))
    assert code == 1
    assert [f["line"] for f in report["findings"]] == [2, 3]


def test_invalid_utf8_inside_a_secret_and_a_path_does_not_break_reports(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    secret = password(rng(19)).replace("#", "x").encode()
    raw = b"DB_PASSWORD=" + secret[:3] + b"\xff" + secret[3:] + b"\n"
    (tree / "conf\xe9.env".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(raw)
    for fmt in ("text", "json", "jsonl", "sarif", "gitlab"):
        done = run_keyscan(str(tree), "--format", fmt, "--no-progress", "--show-secrets")
        assert done.returncode == 1, (fmt, done.stderr)
        assert "Traceback" not in done.stderr


def test_credentials_inside_a_string_literal_in_code_are_found(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    secret = password(rng(18)).replace("#", "x")
    (tree / "db.py").write_text(
        f'engine = create_engine("postgresql://billing:{secret}@db.internal/app")\n'
        "password = get_password()\n"
    )
    code, report = scan_json(str(tree))
    assert code == 1
    assert [(f["rule_id"], f["line"]) for f in report["findings"]] == [
        ("generic.url-credentials", 1)
    ]


def test_an_algolia_search_only_key_is_public_and_an_admin_key_is_not(tmp_path: Path) -> None:
    r = rng(18)

    def hex_key() -> str:
        # Spread enough over the sixteen digits to pass the generic rules' entropy minimum, as
        # most keys do: the filter under test, not entropy, must be what sets them aside.
        while shannon_entropy(key := random_chars(r, 32, "0123456789abcdef")) < 3.7:
            pass
        return key

    docsearch, themed, named, admin, indexer = (hex_key() for _ in range(5))
    tree = tmp_path / "tree"
    (tree / "docs" / "_templates").mkdir(parents=True)
    (tree / "scripts").mkdir()
    (tree / "docs" / "_templates" / "sidebar.html").write_text(
        '<script src="docsearch.min.js" onload="docsearch({\n'
        f"  apiKey: '{docsearch}',\n  indexName: 'project',\n}})\"></script>\n"
    )
    (tree / "docusaurus.config.js").write_text(
        "module.exports = {\n  themeConfig: {\n    algolia: {\n      appId: 'X1B2C3D4E5',\n"
        f"      apiKey: '{themed}',\n      indexName: 'site',\n    }},\n  }},\n}};\n"
    )
    (tree / ".env").write_text(f"ALGOLIA_SEARCH_API_KEY={named}\nALGOLIA_WRITE_API_KEY={admin}\n")
    # The same shape in an indexing script is its admin key.
    (tree / "scripts" / "index.js").write_text(
        f"const client = algoliasearch({{\n  appId: 'X1B2C3D4E5',\n  apiKey: '{indexer}',\n}});\n"
    )
    code, report = scan_json(str(tree), "--show-secrets")
    assert code == 1
    assert sorted((f["path"], f["secret"]) for f in report["findings"]) == [
        (".env", admin),
        ("scripts/index.js", indexer),
    ]


def test_a_private_key_is_reported_at_its_begin_line(tmp_path: Path) -> None:
    # The armour line is where a key starts for whoever reads the file (and where the other
    # scanners report it); the secret itself, redacted and fingerprinted, stays the body.
    r = rng(19)

    def body(rows: int) -> list[str]:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        return [random_chars(r, 64, alphabet) for _ in range(rows)]

    plain = body(6)
    encrypted = body(6)
    escaped = body(3)
    tree = tmp_path / "tree"
    tree.mkdir()
    armour = "-----BEGIN " + "RSA PRIVATE KEY-----"
    end = "-----END " + "RSA PRIVATE KEY-----"
    (tree / "id_rsa").write_text("\n".join(["# deploy key", "", armour, *plain, end, ""]))
    (tree / "legacy.pem").write_text(
        "\n".join(
            [
                armour,
                "Proc-Type: 4,ENCRYPTED",
                "DEK-Info: AES-128-CBC,0123456789ABCDEF",
                "",
                *encrypted,
                end,
                "",
            ]
        )
    )
    (tree / "config.json").write_text(
        '{\n  "key": "' + "\\n".join([armour, *escaped, end]) + '\\n"\n}\n'
    )
    code, report = scan_json(str(tree), "--show-secrets")
    assert code == 1
    placed = {
        f["path"]: (f["line"], f["column"], f["end_line"], f["secret"][:64])
        for f in report["findings"]
    }
    assert placed["id_rsa"] == (3, 1, 9, plain[0])
    assert placed["legacy.pem"][:2] == (1, 1) and placed["legacy.pem"][2] == 10
    assert placed["config.json"] == (2, 11, 2, escaped[0])


def test_a_signed_jwt_is_found_under_any_name_and_an_unsigned_or_example_one_is_not(
    tmp_path: Path,
) -> None:
    r = rng(20)
    claims = {"iss": "https://auth.corp.internal", "sub": "svc-export", "exp": 1900000000}

    def signed(algorithm: str, length: int, payload: dict[str, object] = claims) -> str:
        return jwt({"alg": algorithm, "typ": "JWT"}, payload, random_chars(r, length, URLSAFE))

    hs256, rs256, in_url = signed("HS256", 43), signed("RS256", 342), signed("ES256", 86)
    unsigned = jwt({"alg": "none"}, claims, random_chars(r, 30, URLSAFE))
    example = signed("HS256", 43, {"sub": "1234567890", "name": "John Doe", "iat": 1516239022})
    not_json = "eyJub3QganNvbg." + "eyJhIjoxfQ." + random_chars(r, 43, URLSAFE)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "settings.yaml").write_text(f"upstream:\n  jwt: {hs256}\n  sig: {rs256}\n")
    (tree / "sync.js").write_text(f"fetch(`/export?jwt={in_url}`);\n")
    (tree / "test_auth.py").write_text(
        f'UNSIGNED = "{unsigned}"\nEXAMPLE = "{example}"\nBROKEN = "{not_json}"\n'
    )
    code, report = scan_json(str(tree), "--show-secrets")
    assert code == 1
    assert sorted((f["path"], f["line"], f["secret"]) for f in report["findings"]) == [
        ("settings.yaml", 2, hs256),
        ("settings.yaml", 3, rs256),
        ("sync.js", 1, in_url),
    ]
    assert {f["rule_id"] for f in report["findings"]} == {"generic.jwt"}
