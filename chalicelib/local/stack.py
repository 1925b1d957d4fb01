"""Provision the embedded AWS from `infra/resources.json`, the template that deploys Colony to AWS.

moto's CloudFormation creates the tables (with indexes), queues (with redrive), topics and buckets, but it
ignores a bucket's `NotificationConfiguration`, so that part is applied here after the stack.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.settings import PROJECT_DIR, get_settings

TEMPLATE_PATH = PROJECT_DIR / "infra" / "resources.json"
PROVISIONED_TYPES = frozenset(
    {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::SNS::Topic"}
)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


def local_template(template: dict[str, Any]) -> dict[str, Any]:
    """The part of the AWS template that the embedded stack provisions: data resources only."""
    resources = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") not in PROVISIONED_TYPES:
            continue
        resource = copy.deepcopy(resource)
        resource.pop("DependsOn", None)
        resource.get("Properties", {}).pop("NotificationConfiguration", None)
        resources[name] = resource
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def provision(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Create the stack named by the settings' prefix (or, restored from a saved state, bring it up to
    date with the template, keeping its data) and wire bucket notifications.

    Returns the physical id of every resource by logical name.
    """
    template = template or load_template()
    stack_name = get_settings().prefix
    cloudformation = aws.client("cloudformation")
    wanted = local_template(template)
    current = _current_template(stack_name)
    if current is None:
        cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(wanted))
    elif current != wanted:
        cloudformation.update_stack(StackName=stack_name, TemplateBody=json.dumps(wanted))
    described = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in described}
    _apply_notifications(template, physical)
    return physical


def _current_template(stack_name: str) -> dict[str, Any] | None:
    """The template the stack was made from, or None when there is no such stack."""
    try:
        body = aws.client("cloudformation").get_template(StackName=stack_name)["TemplateBody"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError":
            return None
        raise
    return json.loads(json.dumps(body)) if isinstance(body, dict) else json.loads(body)


def _apply_notifications(template: dict[str, Any], physical: dict[str, str]) -> None:
    arns = _queue_arns(template, physical)
    for name, resource in template["Resources"].items():
        notification = resource.get("Properties", {}).get("NotificationConfiguration")
        if resource.get("Type") != "AWS::S3::Bucket" or not notification:
            continue
        queue_configurations = [
            {
                "QueueArn": resolve(item["Queue"], arns),
                "Events": [item["Event"]],
                "Filter": {"Key": {"FilterRules": item["Filter"]["S3Key"]["Rules"]}},
            }
            for item in notification.get("QueueConfigurations", [])
        ]
        aws.client("s3").put_bucket_notification_configuration(
            Bucket=physical[name],
            NotificationConfiguration={"QueueConfigurations": queue_configurations},
        )


def _queue_arns(template: dict[str, Any], physical: dict[str, str]) -> dict[str, str]:
    sqs = aws.client("sqs")
    return {
        name: sqs.get_queue_attributes(QueueUrl=physical[name], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for name, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::SQS::Queue"
    }


def resolve(value: Any, arns: dict[str, str]) -> str:
    """Resolve a notification target: `{"Fn::GetAtt": [queue, "Arn"]}` is all the template uses."""
    logical, attribute = value["Fn::GetAtt"]
    assert attribute == "Arn", f"unsupported attribute {attribute}"
    return arns[logical]
