"""`make package` builds the AWS template from Chalice plus infra/, cfn-lint accepts it, and `make deploy`'s
script takes it through an artifacts bucket into (moto's) CloudFormation."""

import base64
import hashlib
import json
import os
import subprocess

import boto3
import pytest

from chalicelib import deploy
from chalicelib.settings import PROJECT_DIR, TABLES
from tests.sam_transform import expand_sam_in_moto

pytestmark = pytest.mark.package


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """`make package` as `make deploy` runs it: with the user's AWS profile set, which packaging needs not
    (chalice would read it, and fail on one this machine does not know)."""
    config = tmp_path_factory.mktemp("aws") / "config"
    config.write_text("[profile someone-else]\nregion = eu-west-1\n")
    env = {**os.environ, "AWS_PROFILE": "acme-prod", "AWS_CONFIG_FILE": str(config)}
    done = subprocess.run(
        ["make", "package"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((PROJECT_DIR / "dist" / "sam.json").read_text())


def _of_type(template, resource_type):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def test_the_template_holds_the_data_resources(template):
    assert len(_of_type(template, "AWS::DynamoDB::Table")) == len(TABLES)
    assert "FilesBucket" in template["Resources"]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["COLONY_PREFIX"] == {
        "Ref": "AWS::StackName"
    }


def test_the_api_stage_is_throttled_and_the_request_limit_set_by_parameters(template):
    (throttled,) = template["Globals"]["Api"]["MethodSettings"]
    assert (throttled["ResourcePath"], throttled["HttpMethod"]) == ("/*", "*")
    assert throttled["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert throttled["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["COLONY_REQUEST_LIMIT"] == {"Ref": "CompanyRequestLimit"}
    assert {name: p["Default"] for name, p in template["Parameters"].items()} == {
        "ApiThrottlingRateLimit": 200,
        "ApiThrottlingBurstLimit": 400,
        "CompanyRequestLimit": 3000,
        "CompanyRequestWindowSeconds": 60,
    }


def test_every_function_role_may_use_the_data(template):
    roles = set(_of_type(template, "AWS::IAM::Role"))
    granted = {ref["Ref"] for ref in template["Resources"]["DataAccessPolicy"]["Properties"]["Roles"]}
    assert roles == granted


def test_every_sqs_consumer_reports_partial_batch_failures(template):
    for name, function in _of_type(template, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
                assert event["Properties"]["Queue"]["Fn::Sub"].endswith(
                    ":${AWS::StackName}-" + queue_of(name)
                ), name


def queue_of(function: str) -> str:
    return {
        "ImportsWorker": "imports",
        "TasksWorker": "tasks",
        "SendWorker": "send",
        "CallbacksWorker": "callbacks",
    }[function]


def test_every_event_source_exists_before_its_function(template):
    """The queues and topics come from infra/ and are named by Fn::Sub: the function must wait for them."""
    created = {}
    for logical, body in template["Resources"].items():
        name = body["Properties"].get("QueueName") or body["Properties"].get("TopicName")
        if body["Type"] in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
            created[name["Fn::Sub"]] = logical
    sources = {"SQS": "Queue", "SNS": "Topic"}
    for name, function in _of_type(template, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] in sources:
                arn = event["Properties"][sources[event["Type"]]]["Fn::Sub"]
                source = created["${AWS::StackName}" + arn.split(":${AWS::StackName}", 1)[1]]
                assert source in function.get("DependsOn", []), name


def test_the_bundle_carries_the_docs_page_and_pydantic_for_lambda(template):
    """`/docs` serves Swagger UI from the bundle (no CDN), and `/openapi.json` needs pydantic's core
    built for Lambda's Linux."""
    import zipfile

    with zipfile.ZipFile(PROJECT_DIR / "dist" / "deployment.zip") as bundle:
        names = set(bundle.namelist())
    swagger_ui = "aws_lambda_powertools/event_handler/openapi/swagger_ui/"
    assert {f"{swagger_ui}swagger-ui-bundle.min.js", f"{swagger_ui}swagger-ui.min.css"} <= names
    assert any(n.startswith("pydantic_core/_pydantic_core") and n.endswith(".so") for n in names)


def test_the_template_is_too_big_to_send_inline_and_within_every_quota_through_s3(template):
    """Why `make deploy` goes through a bucket, and the headroom left under CloudFormation's quotas."""
    figures = deploy.template_figures(template, deploy.compact(template))
    print(figures)
    assert figures["template_bytes"] > deploy.INLINE_TEMPLATE_BYTES
    assert figures["template_bytes"] <= deploy.S3_TEMPLATE_BYTES == 1_000_000
    assert figures["resources_after_transform_at_most"] <= deploy.LIMITS["resources"] == 500
    assert figures["parameters"] <= deploy.LIMITS["parameters"] == 200
    assert figures["outputs"] <= deploy.LIMITS["outputs"] == 200


@pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")  # moto skips what it lacks
def test_deploy_dry_run_on_moto_uploads_the_package_and_creates_the_stack_and_redeploys_nothing_twice(
    template, aws, monkeypatch, capsys
):
    """The packaged app itself, through the artifacts bucket into moto's CloudFormation (whose missing SAM
    transform tests/sam_transform.py stands in for)."""
    expand_sam_in_moto(monkeypatch)
    bundle = (PROJECT_DIR / "dist" / "deployment.zip").read_bytes()
    code_sha = base64.b64encode(hashlib.sha256(bundle).digest()).decode()

    assert deploy.main(["--stack", "acme-colony", "--stage", "test"]) == 0
    first = capsys.readouterr()

    assert first.err == ""
    assert first.out.splitlines()[-1] == "stack acme-colony: CREATE_COMPLETE"
    functions = boto3.client("lambda").list_functions()["Functions"]
    expected = {f"acme-colony-{name}" for name in _of_type(template, "AWS::Serverless::Function")}
    assert {f["FunctionName"] for f in functions if f["FunctionName"].startswith("acme-colony-")} == expected
    assert {f["CodeSha256"] for f in functions if f["FunctionName"] in expected} == {code_sha}
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    assert {t for t in tables if t.startswith("acme-colony-")} == {f"acme-colony-{t}" for t in TABLES}
    mappings = boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert {m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings} == {
        "acme-colony-imports",
        "acme-colony-tasks",
        "acme-colony-send",
        "acme-colony-callbacks",
    }

    assert deploy.main(["--stack", "acme-colony", "--stage", "test"]) == 0
    second = capsys.readouterr().out.splitlines()

    assert any(line.startswith(f"deployment.zip ({len(bundle):,} bytes) already at s3://") for line in second)
    assert second[-1] == "stack acme-colony: no changes"
