"""Configuration: secrets never show, credentials precedence, file safety, base URLs."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import pickle
import stat
import traceback
from pathlib import Path

import pytest

from krakenfutures.config import (
    LIVE_BASE_URL,
    Credentials,
    Secret,
    Settings,
    config_dir,
    default_credentials_path,
    load_credentials,
    resolve_base_url,
    state_dir,
    write_credentials,
)
from krakenfutures.core.signing import decode_secret
from krakenfutures.errors import ConfigError, CredentialsError

KEY = "kfKEYpublicPART0123456789abcdef"
SECRET = "cHl0aG9uLWtyYWtlbi1zZGsgdW5pdC10ZXN0IHNlY3JldCB2YWx1ZQ=="
KEY2 = "otherKEY000000000000000000000000"
SECRET2 = "c2Vjb25kIHNlY3JldCBmb3IgdGVzdGluZw=="
NOT_BASE64 = "this is not base64 but a close call!!"


def leaks(text: str, secret: str = SECRET) -> bool:
    """Whether ``text`` shows the secret or a large piece of it."""
    return any(secret[i : i + 12] in text for i in range(len(secret) - 11))


# ---------------------------------------------------------------------------- Secret masking


def test_secret_masks_every_text_form() -> None:
    s = Secret(SECRET)
    percent = "%s %r" % (s, s)  # noqa: UP031 - the logging style must be masked too
    texts = [repr(s), str(s), f"{s}", f"{s!r}", f"{s:>60}", percent, format(s, "")]
    texts.append(repr([s, {"k": s}]))
    assert all("****" in t and not leaks(t) for t in texts)
    assert repr(s) == "Secret('****')"


def test_secret_reveals_and_decodes_on_request() -> None:
    s = Secret(f"  {SECRET}\n")
    assert s.reveal() == SECRET
    assert s.key() == decode_secret(SECRET)


def test_secret_equality_and_hash() -> None:
    assert Secret(SECRET) == Secret(SECRET)
    assert Secret(SECRET) != Secret(SECRET2)
    assert hash(Secret(SECRET)) == hash(Secret(SECRET))
    assert Secret(SECRET) != SECRET  # never equal to the bare text


def test_secret_refuses_pickling_and_copies_as_itself() -> None:
    s = Secret(SECRET)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="cannot be pickled") as info:
            pickle.dumps(s, protocol=protocol)
        assert not leaks(str(info.value))
    with pytest.raises(TypeError):
        pickle.dumps(Credentials(KEY, Secret(SECRET)))
    assert copy.copy(s) is s
    assert copy.deepcopy(s) is s


def test_non_base64_secret_is_refused_at_construction_without_echoing_it() -> None:
    with pytest.raises(CredentialsError, match="not valid base64") as info:
        Secret(NOT_BASE64)
    shown = "".join(
        traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
    )
    assert not leaks(shown, NOT_BASE64)
    assert not leaks(str(info.value), NOT_BASE64)


@pytest.mark.parametrize("bad", [SECRET.encode(), 12345, None, ["x"]])
def test_secret_of_wrong_type_is_refused(bad: object) -> None:
    with pytest.raises(CredentialsError, match=f"must be a str.*got {type(bad).__name__}"):
        Secret(bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- Credentials


def test_credentials_show_only_the_start_of_the_key() -> None:
    creds = Credentials(KEY, Secret(SECRET))
    text = repr(creds)
    assert text == "Credentials(api_key='kfKE…', secret=Secret('****'))"
    assert str(creds) == text and f"{creds}" == text
    assert KEY not in text and not leaks(text)
    assert creds.masked_key() == "kfKE…"
    assert not leaks(repr(dataclasses.asdict(creds)))


def test_credentials_wrap_a_plain_secret_and_compare() -> None:
    creds = Credentials(f" {KEY}\n", SECRET)  # type: ignore[arg-type]
    assert creds.api_key == KEY
    assert isinstance(creds.secret, Secret)
    assert creds == Credentials(KEY, Secret(SECRET))
    assert creds != Credentials(KEY, Secret(SECRET2))


@pytest.mark.parametrize("bad", [KEY.encode(), 42, None])
def test_wrong_key_types_are_refused_with_what_to_pass(bad: object) -> None:
    with pytest.raises(CredentialsError, match=f"API key must be a str, got {type(bad).__name__}"):
        Credentials(bad, Secret(SECRET))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "   ", "two words"])
def test_empty_or_broken_keys_are_refused(bad: str) -> None:
    with pytest.raises(CredentialsError):
        Credentials(bad, Secret(SECRET))


def test_logging_and_tracebacks_with_credentials_in_locals_show_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    creds = Credentials(KEY, Secret(SECRET))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("kf.test").info("using %s / %r / %s", creds, creds, creds.secret)
        logging.getLogger("kf.test").info("creds=%(c)s", {"c": creds})
    assert caplog.text and not leaks(caplog.text)

    def failing(credentials: Credentials) -> None:
        secret = credentials.secret
        raise RuntimeError(f"boom with {credentials} and {secret}")

    try:
        failing(creds)
    except RuntimeError as exc:
        shown = "".join(
            traceback.TracebackException.from_exception(exc, capture_locals=True).format()
        )
    assert "credentials = Credentials(api_key='kfKE…'" in shown
    assert not leaks(shown) and KEY not in shown


# ---------------------------------------------------------------------------- loading


def write_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def creds_file(path: Path, key: str = KEY, secret: str = SECRET, extra: str = "") -> Path:
    return write_file(path, f'api_key = "{key}"\napi_secret = "{secret}"\n{extra}')


def test_arguments_win_over_environment_and_file(tmp_path: Path) -> None:
    file = creds_file(tmp_path / "c.toml", KEY2, SECRET2)
    env = {"KRAKEN_FUTURES_API_KEY": KEY2, "KRAKEN_FUTURES_API_SECRET": SECRET2}
    creds = load_credentials(KEY, SECRET, path=file, env=env)
    assert creds == Credentials(KEY, Secret(SECRET))


def test_environment_wins_over_file(tmp_path: Path) -> None:
    file = creds_file(tmp_path / "c.toml", KEY2, SECRET2)
    env = {"KRAKEN_FUTURES_API_KEY": KEY, "KRAKEN_FUTURES_API_SECRET": SECRET}
    creds = load_credentials(path=file, env=env)
    assert creds is not None and creds.api_key == KEY and creds.base_url is None


def test_file_is_used_last_with_its_base_url(tmp_path: Path) -> None:
    file = creds_file(tmp_path / "c.toml", extra='base_url = "http://127.0.0.1:8787/"\n')
    creds = load_credentials(path=file, env={})
    assert creds == Credentials(KEY, Secret(SECRET), "http://127.0.0.1:8787")


def test_credentials_file_named_by_environment(tmp_path: Path) -> None:
    file = creds_file(tmp_path / "elsewhere.toml")
    creds = load_credentials(env={"KRAKEN_FUTURES_CREDENTIALS": str(file)})
    assert creds is not None and creds.api_key == KEY


def test_default_file_under_xdg_config_home(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": str(tmp_path / "home")}
    assert load_credentials(env=env) is None  # no file: public only
    creds_file(tmp_path / "cfg" / "krakenfutures" / "credentials.toml")
    creds = load_credentials(env=env)
    assert creds is not None and creds.api_key == KEY
    assert config_dir({"HOME": "/h"}) == Path("/h/.config/krakenfutures")
    assert default_credentials_path({"HOME": "/h"}) == Path(
        "/h/.config/krakenfutures/credentials.toml"
    )


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="does not exist"):
        load_credentials(path=tmp_path / "nope.toml", env={})


@pytest.mark.parametrize(
    ("args", "env", "missing"),
    [
        ((KEY, None), {}, "api_secret"),
        ((None, SECRET), {}, "api_key"),
        ((None, None), {"KRAKEN_FUTURES_API_KEY": KEY}, "KRAKEN_FUTURES_API_SECRET"),
        ((None, None), {"KRAKEN_FUTURES_API_SECRET": SECRET}, "KRAKEN_FUTURES_API_KEY"),
    ],
)
def test_half_a_key_pair_is_a_clear_error(
    args: tuple[str | None, str | None], env: dict[str, str], missing: str
) -> None:
    with pytest.raises(CredentialsError, match=f"but {missing} is not") as info:
        load_credentials(*args, env=env)
    assert not leaks(str(info.value))


def test_empty_environment_values_count_as_unset(tmp_path: Path) -> None:
    env = {
        "KRAKEN_FUTURES_API_KEY": "",
        "KRAKEN_FUTURES_API_SECRET": "",
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    assert load_credentials(env=env) is None


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_file_readable_by_others_is_refused_with_chmod_advice(tmp_path: Path, mode: int) -> None:
    file = creds_file(tmp_path / "c.toml")
    file.chmod(mode)
    with pytest.raises(CredentialsError, match=f"chmod 600 {file}") as info:
        load_credentials(path=file, env={})
    assert not leaks(str(info.value))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('api_key = "k"\napi_secret = ', "not valid TOML"),
        (f'api_key = "{KEY}"\n', "api_secret is missing"),
        (f'api_key = "{KEY}"\napi_secret = "{SECRET}"\nsecret = "x"\n', "unknown field"),
        (f'api_key = 12\napi_secret = "{SECRET}"\n', "must be a quoted string"),
        (f'api_key = "{KEY}"\napi_secret = "{NOT_BASE64}"\n', "not valid base64"),
        (f'api_key = "{KEY}"\napi_secret = "{SECRET}"\nbase_url = "demo"\n', "base_url"),
    ],
)
def test_malformed_files_are_refused_without_showing_the_secret(
    tmp_path: Path, text: str, match: str
) -> None:
    file = write_file(tmp_path / "c.toml", text)
    with pytest.raises(CredentialsError, match=match) as info:
        load_credentials(path=file, env={})
    assert str(file) in str(info.value)
    assert not leaks(str(info.value)) and not leaks(str(info.value), NOT_BASE64)


def test_write_credentials_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    file = tmp_path / "new" / "dir" / "credentials.toml"
    assert write_credentials(file, KEY, SECRET, base_url="http://localhost:8787") == file
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    creds = load_credentials(path=file, env={})
    assert creds == Credentials(KEY, Secret(SECRET), "http://localhost:8787")
    write_credentials(file, KEY2, SECRET2)  # replaces atomically
    assert load_credentials(path=file, env={}) == Credentials(KEY2, Secret(SECRET2))
    assert [p.name for p in file.parent.iterdir()] == ["credentials.toml"]


def test_write_credentials_refuses_bad_values_before_touching_disk(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError):
        write_credentials(tmp_path / "c.toml", KEY, NOT_BASE64)
    with pytest.raises(CredentialsError, match="base_url"):
        write_credentials(tmp_path / "c.toml", KEY, SECRET, base_url="demo")
    assert not (tmp_path / "c.toml").exists()


# ---------------------------------------------------------------------------- directories


def test_state_dir_precedence() -> None:
    assert state_dir({"KRAKEN_FUTURES_STATE_DIR": "/s", "XDG_STATE_HOME": "/x"}) == Path("/s")
    assert state_dir({"XDG_STATE_HOME": "/x", "HOME": "/h"}) == Path("/x/krakenfutures")
    assert state_dir({"HOME": "/h"}) == Path("/h/.local/state/krakenfutures")
    # The XDG spec says relative paths are invalid and must be ignored.
    assert state_dir({"XDG_STATE_HOME": "rel", "HOME": "/h"}) == Path(
        "/h/.local/state/krakenfutures"
    )


# ---------------------------------------------------------------------------- base URLs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("live", LIVE_BASE_URL),
        (" LIVE ", LIVE_BASE_URL),
        ("https://futures.kraken.com", LIVE_BASE_URL),
        ("https://futures.kraken.com/", LIVE_BASE_URL),
        ("HTTP://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("http://[::1]:8787/", "http://[::1]:8787"),
        ("https://api.futures.kraken.com", "https://api.futures.kraken.com"),
    ],
)
def test_base_url_accepts_live_and_origins(value: str, expected: str) -> None:
    assert resolve_base_url(value, env={}) == expected


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("demo", "retired in July 2026.*kf sim"),
        ("https://demo-futures.kraken.com", "kf sim"),
        ("https://futures.kraken.com/derivatives", "origin only.*'https://futures.kraken.com'"),
        ("https://futures.kraken.com/derivatives/api/v3", "origin only"),
        ("http://127.0.0.1:8787/derivatives/api/v3/", "origin only.*'http://127.0.0.1:8787'"),
        ("http://127.0.0.1:8787?x=1", "origin only"),
        ("ftp://example.com", "must be 'live' or an origin"),
        ("futures.kraken.com", "must be 'live' or an origin"),
        ("http://user:pw@127.0.0.1:8787", "user:password"),
        ("http://futures.kraken.com", "https only"),
        ("http://127.0.0.1:99999", "not a valid URL"),
    ],
)
def test_base_url_refusals_say_what_to_pass(value: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_base_url(value, env={})


def test_base_url_precedence() -> None:
    env = {"KRAKEN_FUTURES_BASE_URL": "http://127.0.0.1:1"}
    assert resolve_base_url("http://127.0.0.1:2", env=env, fallback="http://127.0.0.1:3") == (
        "http://127.0.0.1:2"
    )
    assert resolve_base_url(None, env=env, fallback="http://127.0.0.1:3") == "http://127.0.0.1:1"
    assert resolve_base_url(None, env={}, fallback="http://127.0.0.1:3") == "http://127.0.0.1:3"
    assert resolve_base_url(None, env={}) == LIVE_BASE_URL


def test_settings_from_env() -> None:
    env = {
        "KRAKEN_FUTURES_BASE_URL": "http://127.0.0.1:8787/",
        "KRAKEN_FUTURES_TIMEOUT_S": "2.5",
        "KRAKEN_FUTURES_STATE_DIR": "/tmp/kf-state",
    }
    settings = Settings.from_env(env)
    assert settings == Settings("http://127.0.0.1:8787", 2.5, Path("/tmp/kf-state"))
    assert Settings.from_env({"HOME": "/h"}).base_url == LIVE_BASE_URL
    assert Settings().timeout_s == 10.0


@pytest.mark.parametrize("bad", ["0", "-1", "soon", "nan", "inf"])
def test_settings_refuse_bad_timeouts(bad: str) -> None:
    with pytest.raises(ConfigError, match="KRAKEN_FUTURES_TIMEOUT_S"):
        Settings.from_env({"KRAKEN_FUTURES_TIMEOUT_S": bad, "HOME": "/h"})
    with pytest.raises(ConfigError, match="demo"):
        Settings(base_url="demo")
