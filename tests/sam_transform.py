"""moto's CloudFormation cannot expand `AWS::Serverless-2016-10-31` (it skips every Serverless resource, then
fails on the permission that names one). `expand_sam_in_moto` stands in for the part of CloudFormation's SAM
transform a deploy's dry run needs: each function becomes a Lambda function whose code moto reads from the
S3 URI the deploy wrote (a missing object fails the stack), each SQS event a mapping onto its queue (a
queue that does not exist fails it too), the API a REST API. Schedules, SNS events and the rest are left out.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

SAM = "AWS::Serverless-2016-10-31"


def expand_sam_in_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.cloudformation.models import CloudFormationBackend

    real = CloudFormationBackend.create_change_set

    def create_change_set(
        self: Any, stack_name: str, change_set_name: str, template: str, **kwargs: Any
    ) -> Any:
        return real(self, stack_name, change_set_name, expand(template, stack_name), **kwargs)

    monkeypatch.setattr(CloudFormationBackend, "create_change_set", create_change_set)


def expand(body: str, stack_name: str) -> str:
    template = json.loads(body)
    if template.get("Transform") != SAM:
        return body
    del template["Transform"]
    shared = template.pop("Globals", {}).get("Function", {})
    resources: dict[str, Any] = {}
    mappings: dict[str, Any] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resources[name] = _function(name, resource, shared, stack_name)
            mappings.update(_sqs_mappings(name, resource))
        elif resource["Type"] == "AWS::Serverless::Api":
            resources[name] = {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": name}}
        else:
            resources[name] = resource
    # moto creates a change set's resources in template order, whatever DependsOn says: queues first.
    template["Resources"] = {**resources, **mappings}
    return json.dumps(template)


def _function(name: str, resource: dict[str, Any], shared: dict[str, Any], stack_name: str) -> dict[str, Any]:
    properties = resource["Properties"]
    bucket, key = properties["CodeUri"].removeprefix("s3://").split("/", 1)
    variables = {
        **shared.get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": f"{stack_name}-{name}",
            "Code": {"S3Bucket": bucket, "S3Key": key},
            "Handler": properties["Handler"],
            "Runtime": properties["Runtime"],
            "Role": properties["Role"],
            "Timeout": properties.get("Timeout", 3),
            "MemorySize": properties.get("MemorySize", 128),
            "Environment": {"Variables": variables},
        },
    }


def _sqs_mappings(name: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        event_name: {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": {"Ref": name},
                "EventSourceArn": event["Properties"]["Queue"],
                "BatchSize": event["Properties"].get("BatchSize", 10),
            },
        }
        for event_name, event in resource["Properties"].get("Events", {}).items()
        if event["Type"] == "SQS"
    }
