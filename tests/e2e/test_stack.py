"""Over real HTTP against the stack `make run` starts: auth, roles and tenancy, then a clean stop."""

import os
import signal
import time

import boto3
import pytest
import requests

from tests.e2e.conftest import _stop, group_members

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def companies(stack):
    acme = stack.cli("company", "create", "--name", "Acme", "--credits", "1000")
    bravo = stack.cli("company", "create", "--name", "Bravo")
    member = stack.cli("user", "create", "--company", str(acme["company"]["id"]), "--email", "m@acme.example")
    return acme, bravo, member


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Content-Type": "application/json"}


def test_health_is_open(stack):
    assert requests.get(f"{stack.api}/health", timeout=10).json() == {"status": "ok"}


def test_the_cli_prints_company_user_and_a_key(companies):
    acme, _, member = companies
    assert set(acme) == {"company", "user", "api_key"}
    assert acme["company"]["credits"] == 1000
    assert acme["user"]["role"] == "admin"
    assert member["user"]["role"] == "member"


def test_no_key_is_401(stack, companies):
    answer = requests.get(f"{stack.api}/company", timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "missing_api_key"


def test_a_key_reads_its_company(stack, companies):
    acme, _, _ = companies
    answer = requests.get(f"{stack.api}/company", headers=auth(acme["api_key"]), timeout=10)
    assert answer.status_code == 200
    assert answer.json()["id"] == acme["company"]["id"]
    assert answer.json()["name"] == "Acme"


def test_a_member_cannot_add_users(stack, companies):
    _, _, member = companies
    answer = requests.post(
        f"{stack.api}/users",
        headers=auth(member["api_key"]),
        json={"email": "x@acme.example", "role": "admin"},
        timeout=10,
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_another_companys_user_is_404(stack, companies):
    acme, bravo, _ = companies
    answer = requests.get(
        f"{stack.api}/users/{acme['user']['id']}", headers=auth(bravo["api_key"]), timeout=10
    )
    assert answer.status_code == 404
    own = requests.get(f"{stack.api}/users/{acme['user']['id']}", headers=auth(acme["api_key"]), timeout=10)
    assert own.status_code == 200


def test_credits_are_added_by_the_cli(stack, companies):
    acme, _, _ = companies
    topped = stack.cli("credits", "add", "--company", str(acme["company"]["id"]), "--amount", "250")
    assert topped["company"]["credits"] == 1250


def test_uploads_notify_the_imports_queue(stack):
    endpoint = f"http://127.0.0.1:{stack.moto_port}"
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="af-south-1"
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    (target,) = s3.get_bucket_notification_configuration(Bucket="colony-local-files")["QueueConfigurations"]
    assert target["QueueArn"].endswith(":colony-local-imports")


def test_ctrl_c_stops_every_process(stack):
    pgid = os.getpgid(stack.process.pid)
    assert len(group_members(pgid)) >= 3
    os.killpg(pgid, signal.SIGINT)
    assert stack.process.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_members(pgid) == []
    _stop(stack.process)
