"""`make package` builds the AWS template from Chalice plus infra/, and cfn-lint accepts it."""

import json
import subprocess

import pytest

from chalicelib.settings import PROJECT_DIR, TABLES

pytestmark = pytest.mark.package


@pytest.fixture(scope="module")
def template():
    done = subprocess.run(["make", "package"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=900)
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
    return {"ImportsWorker": "imports", "TasksWorker": "tasks", "SendWorker": "send"}[function]


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
