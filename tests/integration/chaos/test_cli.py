"""``python -m chaos`` against an inventory service served on 127.0.0.1."""

import io

import pytest

from chaos.cli import run
from inventory_service.app import create_app
from lab.postgres import free_port
from tests.helpers import serve

TOKEN = "cli-test-admin-token"


@pytest.fixture
def url(settings, inventory_engine):
    with serve(create_app(settings.replace(chaos_enabled=True, admin_token=TOKEN))) as served:
        yield served


def cli(*argv, url, token=TOKEN):
    out = io.StringIO()
    code = run(["--url", url, "--token", token, *argv], out=out)
    return code, out.getvalue()


def test_a_latency_gremlin_is_switched_on_listed_and_reset(url):
    code, said = cli("latency", "--delay-ms", "3000", "--every", "5", "--ttl", "300", url=url)
    assert code == 0
    assert "delay 3000 ms" in said and "every_nth=5" in said

    code, said = cli("status", url=url)
    assert code == 0 and said.startswith("latency ") and "fired 0 of 0 calls" in said

    assert cli("reset", url=url)[0] == 0
    assert cli("status", url=url)[1].strip() == "no gremlins active"


def test_error_and_crash_take_their_options(url):
    assert (
        cli(
            "error",
            "--status",
            "500",
            "--probability",
            "0.2",
            "--seed",
            "7",
            "--after-commit",
            url=url,
        )[0]
        == 0
    )
    assert cli("crash", "--next", "2", "--method", "PUT", "--name", "boom", url=url)[0] == 0

    said = cli("status", url=url)[1]

    assert "answer 500 after the commit; probability=0.2, seed=7" in said
    assert "kill the worker after the commit; fail_next=2; on PUT /api/v1/*" in said
    assert cli("remove", "boom", url=url)[0] == 0


def test_a_wrong_token_is_refused_with_exit_code_1(url):
    code, said = cli("error", url=url, token="wrong")

    assert code == 1 and "401" in said


def test_an_invalid_gremlin_names_the_field_and_exits_1(url):
    code, said = cli("latency", "--delay-ms", "999999", url=url)

    assert code == 1 and "delay_ms" in said


def test_an_unreachable_service_exits_3():
    assert cli("status", url=f"http://127.0.0.1:{free_port()}")[0] == 3


def test_two_selectors_at_once_is_a_usage_error():
    with pytest.raises(SystemExit) as usage:
        run(["latency", "--delay-ms", "5", "--every", "2", "--next", "1"])
    assert usage.value.code == 2


def test_help_explains_each_option(capsys):
    with pytest.raises(SystemExit):
        run(["latency", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--delay-ms",
        "--jitter-ms",
        "--after-commit",
        "--every",
        "--probability",
        "--seed",
        "--next",
        "--method",
        "--path",
        "--ttl",
    ):
        assert option in text
