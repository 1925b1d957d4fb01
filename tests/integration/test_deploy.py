"""`python -m chalicelib.deploy` against moto: the artifacts bucket, the uploads, the stack from S3, and
every refusal as one line naming what to fix."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib import deploy
from chalicelib.aws import client as aws_client
from chalicelib.settings import PROJECT_DIR, get_settings
from tests.sam_transform import SAM, expand_sam_in_moto

ACCOUNT = "123456789012"
REGION = "af-south-1"
ARTIFACTS = f"colony-artifacts-{ACCOUNT}-{REGION}"
QUEUE_ARN = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-send"


def sam_template() -> dict:
    """A small template shaped as `chalice package` writes it: two functions sharing one bundle."""
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    }
    function = {
        "Runtime": "python3.11",
        "CodeUri": "./deployment.zip",
        "Role": {"Fn::GetAtt": ["WorkerRole", "Arn"]},
    }
    send_event = {"Type": "SQS", "Properties": {"Queue": {"Fn::Sub": QUEUE_ARN}, "BatchSize": 10}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM,
        "Globals": {"Function": {"Environment": {"Variables": {"COLONY_PREFIX": {"Ref": "AWS::StackName"}}}}},
        "Resources": {
            "SendQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": {"Fn::Sub": "${AWS::StackName}-send"}},
            },
            "WorkerRole": role,
            "SendWorker": {
                "Type": "AWS::Serverless::Function",
                "Properties": {**function, "Handler": "app.send_worker", "Events": {"SendSqs": send_event}},
                "DependsOn": ["SendQueue"],
            },
            "APIHandler": {
                "Type": "AWS::Serverless::Function",
                "Properties": {**function, "Handler": "app.app"},
            },
        },
    }


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    with zipfile.ZipFile(tmp_path / "deployment.zip", "w") as bundle:
        bundle.writestr("app.py", "app = None\n")
    (tmp_path / "sam.json").write_text(json.dumps(sam_template(), indent=2))
    return tmp_path


@pytest.fixture
def sam(aws, monkeypatch):
    expand_sam_in_moto(monkeypatch)


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = deploy.main([*argv, "--stage", "test"])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def buckets() -> set[str]:
    return {bucket["Name"] for bucket in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]}


def objects(bucket: str) -> list[str]:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_deploy_makes_a_private_encrypted_bucket_and_creates_the_stack_from_s3(sam, dist, capsys):
    code, out, err = run(capsys, "--stack", "acme-colony", "--template", str(dist / "sam.json"))

    assert (code, err) == (0, "")
    s3 = boto3.client("s3", region_name=REGION)
    blocked = s3.get_public_access_block(Bucket=ARTIFACTS)["PublicAccessBlockConfiguration"]
    assert blocked == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    (rule,) = s3.get_bucket_encryption(Bucket=ARTIFACTS)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_location(Bucket=ARTIFACTS)["LocationConstraint"] == REGION
    bundle = (dist / "deployment.zip").read_bytes()
    zip_key = f"acme-colony/{hashlib.sha256(bundle).hexdigest()}.zip"
    (template_key,) = [key for key in objects(ARTIFACTS) if key.endswith(".template")]
    assert objects(ARTIFACTS) == sorted([zip_key, template_key])
    uploaded = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=template_key)["Body"].read())
    assert {
        r["Properties"]["CodeUri"] for r in uploaded["Resources"].values() if "CodeUri" in r["Properties"]
    } == {f"s3://{ARTIFACTS}/{zip_key}"}
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    (stack,) = cloudformation.describe_stacks(StackName="acme-colony")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    function = boto3.client("lambda", region_name=REGION).get_function(FunctionName="acme-colony-SendWorker")
    assert (
        function["Configuration"]["CodeSha256"] == base64.b64encode(hashlib.sha256(bundle).digest()).decode()
    )
    assert out[1] == f"artifacts bucket {ARTIFACTS} (created)"
    assert out[2] == f"deployment.zip ({len(bundle):,} bytes) uploaded to s3://{ARTIFACTS}/{zip_key}"
    assert out[-1] == "stack acme-colony: CREATE_COMPLETE"


def test_deploy_again_updates_the_stack_and_keeps_the_uploaded_bundle(sam, dist, capsys):
    template = str(dist / "sam.json")
    assert run(capsys, "--stack", "acme-colony", "--template", template)[0] == 0
    changed = sam_template()
    changed["Resources"]["EventsQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": "acme-events"},
    }
    (dist / "sam.json").write_text(json.dumps(changed))

    code, out, err = run(capsys, "--stack", "acme-colony", "--template", template)

    assert (code, err) == (0, "")
    assert out[1] == f"artifacts bucket {ARTIFACTS} (exists)"
    assert " already at s3://" in out[2]
    assert out[-1] == "stack acme-colony: UPDATE_COMPLETE"
    assert len([key for key in objects(ARTIFACTS) if key.endswith(".zip")]) == 1
    assert len([key for key in objects(ARTIFACTS) if key.endswith(".template")]) == 2
    queues = boto3.client("sqs", region_name=REGION).list_queues(QueueNamePrefix="acme-")["QueueUrls"]
    assert {url.rsplit("/", 1)[1] for url in queues} == {"acme-colony-send", "acme-events"}


def test_a_given_bucket_is_used_and_made_if_missing(sam, dist, capsys):
    code, out, _ = run(
        capsys, "--stack", "acme-colony", "--template", str(dist / "sam.json"), "--bucket", "acme-builds"
    )

    assert code == 0
    assert out[1] == "artifacts bucket acme-builds (created)"
    assert [key.rsplit(".", 1)[1] for key in objects("acme-builds")] in (
        ["template", "zip"],
        ["zip", "template"],
    )


def test_deploying_the_same_template_again_changes_nothing(sam, dist, capsys):
    """CloudFormation fails a change set that changes nothing: that is a deploy with nothing to do."""
    template = str(dist / "sam.json")
    assert run(capsys, "--stack", "acme-colony", "--template", template)[0] == 0

    code, out, err = run(capsys, "--stack", "acme-colony", "--template", template)

    assert (code, err, out[-1]) == (0, "", "stack acme-colony: no changes")
    summaries = boto3.client("cloudformation", region_name=REGION).list_change_sets(StackName="acme-colony")
    assert [c["Status"] for c in summaries["Summaries"] if c["Status"] == "FAILED"] == []


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (
            "ROLLBACK_COMPLETE",
            "can only be deleted: delete it (aws cloudformation delete-stack --stack-name acme-colony)",
        ),
        ("UPDATE_IN_PROGRESS", "is UPDATE_IN_PROGRESS: wait until it is done"),
    ],
)
def test_a_stack_that_cannot_take_a_change_set_is_refused_before_one_is_made(aws, status, says):
    with Stubber(aws_client("cloudformation")) as stub:
        stub.add_response("describe_stacks", {"Stacks": [stack_status(status)]})
        with pytest.raises(deploy.DeployError, match=r".*" + says.replace("(", r"\(").replace(")", r"\)")):
            deploy.apply_change_set("acme-colony", "https://bucket.s3.af-south-1.amazonaws.com/x")
        stub.assert_no_pending_responses()


def stack_status(status: str) -> dict:
    return {"StackName": "acme-colony", "StackStatus": status, "CreationTime": "2026-11-26T08:00:00Z"}


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--stack", "Acme"], "deploy: --stack 'Acme': use 2 to 57 lowercase letters"),
        (["--stack", "acme_colony"], "deploy: --stack 'acme_colony': use 2 to 57 lowercase letters"),
        (["--stack", "a" * 58], "deploy: --stack 'aaaa"),
        (
            ["--stack", "acme-colony", "--bucket", "Acme Builds"],
            "deploy: --bucket 'Acme Builds': not a valid S3 bucket name",
        ),
        (
            ["--stack", "acme-colony", "--template", "/nowhere/sam.json"],
            "deploy: /nowhere/sam.json not found: run `make package` first",
        ),
    ],
)
def test_bad_arguments_are_one_line_naming_what_to_fix_and_touch_nothing(aws, capsys, argv, says):
    code, out, err = run(capsys, *argv)

    assert code == 1
    assert err.startswith(says) and err.count("\n") == 1
    assert out == []
    assert buckets() == {get_settings().bucket}  # the embedded stack's own, and no other


def test_a_template_over_cloudformation_quotas_is_refused_before_anything_is_uploaded(aws, dist, capsys):
    template = sam_template()
    for n in range(500):
        template["Resources"][f"Queue{n}"] = {"Type": "AWS::SQS::Queue"}
    template["Outputs"] = {f"Out{n}": {"Value": "x"} for n in range(201)}
    (dist / "sam.json").write_text(json.dumps(template))

    code, _, err = run(capsys, "--stack", "acme-colony", "--template", str(dist / "sam.json"))

    assert code == 1
    assert err == (
        "deploy: the template exceeds CloudFormation's quotas: resources 504 > 500; outputs 201 > 200; "
        "up to 506 resources after the SAM transform\n"
    )
    assert buckets() == {get_settings().bucket}  # the embedded stack's own, and no other


def cli(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """The deploy as a user runs it, with no credentials but what `env` gives (and no instance metadata)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COLONY_"))}
    clean.update(
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        **env,
    )
    (tmp_path / "sam.json").write_text(json.dumps(sam_template()))
    argv = [
        sys.executable,
        "-m",
        "chalicelib.deploy",
        "--stack",
        "acme-colony",
        "--template",
        str(tmp_path / "sam.json"),
    ]
    return subprocess.run(argv, cwd=PROJECT_DIR, env=clean, capture_output=True, text=True, timeout=60)


def test_without_credentials_the_deploy_says_so_in_one_line(tmp_path):
    done = cli(tmp_path, AWS_REGION=REGION)

    assert done.returncode == 1
    assert done.stderr == (
        "deploy: no AWS credentials found: name a profile (make deploy AWS_PROFILE=...) or sign in to it\n"
    )


def test_an_unknown_profile_is_one_line_that_echoes_no_secret(tmp_path):
    (tmp_path / "credentials").write_text(
        "[acme]\naws_access_key_id = AKIAEXAMPLEKEY\naws_secret_access_key = s3cr3t\n"
    )

    done = cli(tmp_path, AWS_PROFILE="acme-prod", AWS_REGION=REGION)

    assert done.returncode == 1
    assert done.stderr == "deploy: The config profile (acme-prod) could not be found\n"
    assert "s3cr3t" not in done.stdout + done.stderr and "AKIAEXAMPLEKEY" not in done.stdout + done.stderr


def test_make_deploy_without_a_stack_says_how_to_call_it_before_packaging():
    done = subprocess.run(["make", "deploy"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert done.stderr.startswith("make deploy needs STACK=<stack name>, e.g. make deploy STACK=acme-colony ")
    assert "chalice package" not in done.stdout
