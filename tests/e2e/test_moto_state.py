"""The embedded AWS keeps its state across a restart: the moto server process saves it on SIGTERM and
restores it at start, SQS messages in flight stay in flight, the outboxes are kept in step, and a fresh
start (or an unreadable state) says so."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest

from chalicelib.settings import PROJECT_DIR

pytestmark = pytest.mark.e2e


@pytest.fixture
def local(tmp_path: Path) -> dict[str, str]:
    """The environment of a moto server whose state and outboxes live in `tmp_path`."""
    return {
        **os.environ,
        "COLONY_OUTBOX": str(tmp_path / "outbox.jsonl"),
        "COLONY_EMAIL_OUTBOX": str(tmp_path / "outbox-email.jsonl"),
        "COLONY_MAIL_DIR": str(tmp_path / "mail"),
        "STATE": str(tmp_path / "state"),
    }


@contextmanager
def moto_server(env: dict[str, str], *args: str) -> Iterator[tuple[dict[str, boto3.client], list[str]]]:
    """A moto server with its state in `env["STATE"]`, stopped with SIGTERM; yields clients and, once it
    stopped, what it printed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "chalicelib.local.moto_server", "-p", str(port), "--state", env["STATE"]]
    process = subprocess.Popen(
        [*command, *args],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []
    try:
        _wait(port, process)
        session = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="x", region_name="af-south-1"
        )
        clients = {
            name: session.client(name, endpoint_url=f"http://127.0.0.1:{port}")
            for name in ("dynamodb", "s3", "sqs")
        }
        yield clients, printed
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        printed.extend(line for line in output.splitlines() if "HTTP/1.1" not in line)
        assert process.returncode == 0, output


def _wait(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("moto server did not start")


def _seed(aws: dict) -> str:
    aws["dynamodb"].create_table(
        TableName="things",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws["dynamodb"].put_item(TableName="things", Item={"pk": {"S": "a"}, "n": {"N": "7"}})
    aws["s3"].create_bucket(Bucket="files", CreateBucketConfiguration={"LocationConstraint": "af-south-1"})
    aws["s3"].put_object(Bucket="files", Key="uploads/1/a.csv", Body=b"msisdn\n27815854565\n")
    queue = aws["sqs"].create_queue(QueueName="work")["QueueUrl"]
    for body in ("taken", "waiting"):
        aws["sqs"].send_message(QueueUrl=queue, MessageBody=body)
    taken = aws["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=120)
    assert [m["Body"] for m in taken["Messages"]] == ["taken"]
    return queue


def test_state_survives_a_restart_in_step_with_the_outboxes_until_a_fresh_start_empties_both(local):
    """Given a table, an object, a queued and an in-flight message, an outbox line and an email saved on
    SIGTERM, and lines written after that save (their sends' state was lost): a restart brings back all
    of the state, the in-flight message still in flight, and the outboxes cut back to the save; a fresh
    start then holds nothing, outboxes included."""
    outbox, mail = Path(local["COLONY_OUTBOX"]), Path(local["COLONY_MAIL_DIR"])
    kept = json.dumps({"reference": "d1:27815854565"})
    mail.mkdir()
    with moto_server(local) as (aws, printed):
        queue = _seed(aws)
        outbox.write_text(kept + "\n")
        (mail / "kept.eml").write_text("kept")
        Path(local["COLONY_EMAIL_OUTBOX"]).write_text(json.dumps({"eml": str(mail / "kept.eml")}) + "\n")
    assert printed[-1].startswith("embedded AWS: state saved to")
    with outbox.open("a") as more:
        more.write(json.dumps({"reference": "d2:27815854565"}) + "\n" + '{"reference": "d2:2782')
    (mail / "lost.eml").write_text("lost")

    with moto_server(local) as (aws, printed):
        item = aws["dynamodb"].get_item(TableName="things", Key={"pk": {"S": "a"}})["Item"]
        assert item == {"pk": {"S": "a"}, "n": {"N": "7"}}
        body = aws["s3"].get_object(Bucket="files", Key="uploads/1/a.csv")["Body"].read()
        assert body == b"msisdn\n27815854565\n"
        received = aws["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        assert [m["Body"] for m in received["Messages"]] == ["waiting"]
        assert outbox.read_text().splitlines() == [kept]
        assert sorted(path.name for path in mail.iterdir()) == ["kept.eml"]
    assert printed[0].startswith("embedded AWS: state restored from")

    with moto_server(local, "--fresh") as (aws, printed):
        assert aws["dynamodb"].list_tables()["TableNames"] == []
        assert aws["s3"].list_buckets()["Buckets"] == []
        assert aws["sqs"].list_queues().get("QueueUrls", []) == []
        assert not outbox.exists() and list(mail.iterdir()) == []
    assert printed[0].startswith("embedded AWS: starting empty")


def test_a_state_saved_by_another_moto_is_refused_with_the_way_out(local):
    state = Path(local["STATE"])
    state.mkdir()
    (state / "moto.pickle").write_bytes(
        json.dumps({"format": 1, "moto": "0.0.1", "outboxes": {}}).encode() + b"\n"
    )
    command = [sys.executable, "-m", "chalicelib.local.moto_server", "-p", "0", "--state", str(state)]
    done = subprocess.run(command, cwd=PROJECT_DIR, env=local, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "was saved by moto 0.0.1" in done.stdout and "make run FRESH=1" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
