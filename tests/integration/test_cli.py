"""The operator's CLI: JSON on stdout alone, one line of JSON on stderr for an error (never a traceback),
exit 1 for errors and 2 only for differences found; it lists companies and users and replaces a lost key."""

import json

import pytest

from chalicelib import cli

pytestmark = pytest.mark.usefixtures("environment_kept")


def run(capsys, *argv):
    code = cli.main(["--stage", "test", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_company_list_user_list_and_a_new_key_for_a_user(tenants, capsys, api):
    acme, bravo = tenants
    code, out, _ = run(capsys, "company", "list")
    assert code == 0
    listed = json.loads(out)["companies"]
    assert [c["id"] for c in listed] == sorted([acme.company.id, bravo.company.id])
    assert [c["name"] for c in listed] == sorted([acme.company.name, bravo.company.name], key=lambda n: n)

    code, out, _ = run(capsys, "user", "list", "--company", str(acme.company.id))
    users = json.loads(out)["users"]
    assert code == 0
    assert [u["id"] for u in users] == sorted(m.user.id for m in (acme.admin, acme.approver, acme.member))

    code, out, _ = run(
        capsys, "key", "create", "--company", str(acme.company.id), "--user", str(acme.admin.user.id)
    )
    made = json.loads(out)
    assert code == 0 and made["key"]["user"] == acme.admin.user.id
    assert (
        api.get("/company", None, headers={"Authorization": f"Token {made['api_key']}"}).body["id"]
        == acme.company.id
    )


def test_another_companys_user_gets_no_key(tenants, capsys):
    acme, bravo = tenants
    code, out, err = run(
        capsys, "key", "create", "--company", str(bravo.company.id), "--user", str(acme.admin.user.id)
    )
    assert (code, out) == (1, "")
    assert json.loads(err)["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "argv",
    [
        ("stats", "verify", "--company", "999"),
        ("user", "list", "--company", "999"),
        ("credits", "add", "--company", "999", "--amount", "5"),
    ],
)
def test_an_unknown_company_is_one_line_of_json_and_exit_1(aws, capsys, argv):
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert "Traceback" not in err
    assert json.loads(err)["error"]["code"] == "not_found"


def test_a_usage_error_exits_1_not_2(aws, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--stage", "test", "company", "create"])
    assert stopped.value.code == 1
    assert "--name" in capsys.readouterr().err


def test_an_unreachable_stack_is_a_sentence_not_a_traceback(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("COLONY_PORTS_FILE", str(tmp_path / "ports.json"))
    monkeypatch.setenv("MOTO_PORT", "1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code = cli.main(["--stage", "local", "company", "list"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert "Traceback" not in err
    answer = json.loads(err)["error"]
    assert answer["code"] == "unreachable", answer
    assert "127.0.0.1:1" in answer["message"]


def test_the_local_ports_come_from_the_running_stack(monkeypatch, tmp_path):
    from chalicelib.settings import get_settings

    ports = tmp_path / "ports.json"
    ports.write_text(json.dumps({"MOTO_PORT": 5001, "PORT": 8001}))
    monkeypatch.setenv("COLONY_PORTS_FILE", str(ports))
    monkeypatch.setenv("COLONY_STAGE", "local")
    monkeypatch.delenv("MOTO_PORT", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("COLONY_AWS_ENDPOINT_URL", raising=False)
    assert get_settings().aws_endpoint_url == "http://127.0.0.1:5001"
    monkeypatch.setenv("MOTO_PORT", "5002")
    assert get_settings().aws_endpoint_url == "http://127.0.0.1:5002"
