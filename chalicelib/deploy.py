"""`make deploy`: put the packaged app in AWS with your own credentials.

    python -m chalicelib.deploy --stack acme-colony [--bucket my-artifacts] [--template dist/sam.json]

It makes the artifacts bucket if it is missing (encrypted, public access blocked), uploads the code bundle
and the template there (CloudFormation refuses a template body over 51,200 bytes unless it comes from S3),
then creates or updates the stack through a change set from the template's S3 URL, as
`aws cloudformation package` and `deploy --s3-bucket` do. Credentials and region come from the normal AWS
chain (`AWS_PROFILE`, `AWS_REGION`). Progress goes to stdout; an error is one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError, NoCredentialsError, WaiterError

from chalicelib import aws
from chalicelib.domain import clock
from chalicelib.settings import PROJECT_DIR, STAGES, get_settings, use_stage

DEFAULT_TEMPLATE = PROJECT_DIR / "dist" / "sam.json"
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
# CloudFormation's quotas: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
INLINE_TEMPLATE_BYTES = 51_200
S3_TEMPLATE_BYTES = 1_000_000
LIMITS = {"template_bytes": S3_TEMPLATE_BYTES, "resources": 500, "parameters": 200, "outputs": 200}
# The local files `aws cloudformation package` uploads, by resource type; chalice writes only these.
ARTIFACT_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}
# Every physical name is `<stack>-<name>`: the bucket `<stack>-files` (63 at most) is the tightest.
STACK_NAME = re.compile(r"[a-z][a-z0-9-]{0,55}[a-z0-9]")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


class DeployError(Exception):
    """The deploy cannot go on; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class Target:
    stack: str
    bucket: str
    account: str
    region: str


def main(argv: Sequence[str] | None = None, say: Callable[[str], None] = print) -> int:
    """Exit 0 when the stack is up to date, 1 on an error (one line on stderr, never a traceback)."""
    args = _parser().parse_args(argv)
    try:
        use_stage(args.stage)
        deploy(args.stack, Path(args.template), args.bucket, say)
    except Exception as error:
        print(f"deploy: {_message_of(error)}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the stack name, also the prefix of every resource")
    parser.add_argument("--bucket", help="artifacts bucket (default colony-artifacts-<account>-<region>)")
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="what `make package` wrote")
    parser.add_argument("--stage", choices=STAGES, default="prod", help="whose AWS: prod and dev are real")
    return parser


def _message_of(error: Exception) -> str:
    if isinstance(error, NoCredentialsError):
        text = "no AWS credentials found: name a profile (make deploy AWS_PROFILE=...) or sign in to it"
    elif isinstance(error, FileNotFoundError):
        text = f"{error.filename} not found: run `make package` first"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def deploy(stack: str, template_path: Path, bucket: str | None, say: Callable[[str], None]) -> dict[str, str]:
    """Upload the artifacts and the template, create or update the stack; returns its outputs."""
    check_stack_name(stack)
    if bucket is not None:
        check_bucket_name(bucket)
    template = _read_template(template_path)
    check_limits(template_figures(template, compact(template)))
    target = _target(stack, bucket)
    say(f"account {target.account}, region {target.region}, stack {stack}")
    say(f"artifacts bucket {target.bucket} ({'created' if ensure_bucket(target) else 'exists'})")
    packaged = upload_artifacts(template, template_path.parent, target, say)
    body = compact(packaged)
    figures = template_figures(packaged, body)
    check_limits(figures)
    say("template: " + ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in figures.items()))
    url = template_url(target, _upload_bytes(body, ".template", target))
    outcome = apply_change_set(target.stack, url)
    say(f"stack {stack}: {outcome}")
    outputs = stack_outputs(stack)
    for name, value in outputs.items():
        say(f"{name}: {value}")
    return outputs


def _read_template(path: Path) -> dict[str, Any]:
    try:
        template = json.loads(path.read_text())
    except ValueError as error:
        raise DeployError(f"{path} is not a JSON template ({error}): run `make package` again") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise DeployError(f"{path} has no Resources: run `make package` again")
    return template


def compact(template: dict[str, Any]) -> bytes:
    return json.dumps(template, separators=(",", ":")).encode()


def check_stack_name(stack: str) -> None:
    if not STACK_NAME.fullmatch(stack):
        raise DeployError(
            f"--stack {stack!r}: use 2 to 57 lowercase letters, digits and hyphens, starting with a letter "
            "(it prefixes every resource, and the bucket <stack>-files must be a valid S3 name)"
        )


def check_bucket_name(bucket: str) -> None:
    if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise DeployError(
            f"--bucket {bucket!r}: not a valid S3 bucket name (3 to 63 lowercase letters, digits, . and -)"
        )


def _target(stack: str, bucket: str | None) -> Target:
    account = aws.client("sts").get_caller_identity()["Account"]
    region = get_settings().region
    return Target(stack, bucket or f"colony-artifacts-{account}-{region}", account, region)


def ensure_bucket(target: Target) -> bool:
    """Make the artifacts bucket (private, encrypted) unless this account has it; True if it was made."""
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=target.bucket, ExpectedBucketOwner=target.account)
        return False
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise DeployError(
                f"bucket {target.bucket} exists but this account may not use it: choose another with --bucket"
            ) from None
    # us-east-1 is the one region that refuses to be named as a bucket's location.
    location = (
        {}
        if target.region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": target.region}}
    )
    try:
        s3.create_bucket(Bucket=target.bucket, ObjectOwnership="BucketOwnerEnforced", **location)
    except s3.exceptions.BucketAlreadyExists:
        raise DeployError(
            f"bucket {target.bucket} belongs to another account: choose another with --bucket"
        ) from None
    owner = {"Bucket": target.bucket, "ExpectedBucketOwner": target.account}
    s3.put_public_access_block(
        **owner,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        **owner,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
            ]
        },
    )
    return True


def upload_artifacts(
    template: dict[str, Any], base: Path, target: Target, say: Callable[[str], None]
) -> dict[str, Any]:
    """The template with each local code path replaced by the S3 URI of its upload (each file once)."""
    packaged = copy.deepcopy(template)
    uploaded: dict[Path, str] = {}
    for resource in packaged["Resources"].values():
        prop = ARTIFACT_PROPERTIES.get(resource.get("Type", ""))
        value = resource.get("Properties", {}).get(prop) if prop else None
        if not isinstance(value, str) or value.startswith("s3://"):
            continue
        path = (base / value).resolve()
        if path not in uploaded:
            if not path.is_file():
                raise DeployError(
                    f"{path} (the {prop} of the template) is not a file: run `make package` again"
                )
            key, fresh = _upload_file(path, target)
            uploaded[path] = f"s3://{target.bucket}/{key}"
            done = "uploaded to" if fresh else "already at"
            say(f"{path.name} ({path.stat().st_size:,} bytes) {done} {uploaded[path]}")
        resource["Properties"][prop] = uploaded[path]
    return packaged


def _upload_file(path: Path, target: Target) -> tuple[str, bool]:
    """Upload under a key named by the content, unless an earlier deploy already did; (key, uploaded now)."""
    digest = hashlib.sha256()
    with path.open("rb") as content:
        for block in iter(lambda: content.read(1 << 20), b""):
            digest.update(block)
    key = f"{target.stack}/{digest.hexdigest()}{path.suffix}"
    if _exists(key, target):
        return key, False
    extra = {"ExpectedBucketOwner": target.account}
    aws.client("s3").upload_file(str(path), target.bucket, key, ExtraArgs=extra)
    return key, True


def _upload_bytes(body: bytes, suffix: str, target: Target) -> str:
    key = f"{target.stack}/{hashlib.sha256(body).hexdigest()}{suffix}"
    aws.client("s3").put_object(Bucket=target.bucket, Key=key, Body=body, ExpectedBucketOwner=target.account)
    return key


def _exists(key: str, target: Target) -> bool:
    try:
        aws.client("s3").head_object(Bucket=target.bucket, Key=key, ExpectedBucketOwner=target.account)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def template_url(target: Target, key: str) -> str:
    """The object's URL as CloudFormation reads it: virtual-hosted in the bucket's region."""
    endpoint = urlsplit(aws.client("s3").meta.endpoint_url)
    if endpoint.hostname and endpoint.hostname.startswith("s3."):
        return f"{endpoint.scheme}://{target.bucket}.{endpoint.netloc}/{key}"
    return f"{endpoint.scheme}://{endpoint.netloc}/{target.bucket}/{key}"


def template_figures(template: dict[str, Any], body: bytes) -> dict[str, int]:
    """What CloudFormation counts against its quotas, and a bound on the resources after the SAM transform
    (a function's events each become at most a source and a permission; an API, a deployment and a stage)."""
    resources = template["Resources"]
    events = sum(len(r.get("Properties", {}).get("Events", {})) for r in resources.values())
    apis = sum(r.get("Type") == "AWS::Serverless::Api" for r in resources.values())
    return {
        "template_bytes": len(body),
        "resources": len(resources),
        "resources_after_transform_at_most": len(resources) + 2 * events + 2 * apis,
        "parameters": len(template.get("Parameters", {})),
        "outputs": len(template.get("Outputs", {})),
    }


def check_limits(figures: dict[str, int]) -> None:
    over = [
        f"{name.replace('_', ' ')} {figures[name]:,} > {limit:,}"
        for name, limit in LIMITS.items()
        if figures[name] > limit
    ]
    if figures["resources_after_transform_at_most"] > LIMITS["resources"]:
        over.append(
            f"up to {figures['resources_after_transform_at_most']:,} resources after the SAM transform"
        )
    if over:
        raise DeployError("the template exceeds CloudFormation's quotas: " + "; ".join(over))


def apply_change_set(stack: str, url: str) -> str:
    """Create the stack, or update it, from the template at `url`; returns the stack's final status."""
    cloudformation = aws.client("cloudformation")
    kind = _change_set_type(stack)
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="colony-" + clock.now().strftime("%Y%m%dT%H%M%SZ"),
        TemplateURL=url,
        ChangeSetType=kind,
        Capabilities=list(CAPABILITIES),
    )
    change_set = {"ChangeSetName": created["Id"], "StackName": stack}
    try:
        cloudformation.get_waiter("change_set_create_complete").wait(**change_set)
    except WaiterError:
        reason = cloudformation.describe_change_set(**change_set).get("StatusReason", "")
        if any(phrase in reason for phrase in NO_CHANGES):
            cloudformation.delete_change_set(**change_set)
            return "no changes"
        raise DeployError(f"the change set for {stack} failed: {reason}") from None
    cloudformation.execute_change_set(**change_set)
    try:
        cloudformation.get_waiter(f"stack_{kind.lower()}_complete").wait(StackName=stack)
    except WaiterError:
        raise DeployError(f"stack {stack} ended {_status(stack)}: {_first_failure(stack)}") from None
    return _status(stack)


def _change_set_type(stack: str) -> str:
    """CREATE for a new stack (or one only ever reviewed), UPDATE for one that exists and is settled."""
    status = _status(stack)
    if status in (None, "REVIEW_IN_PROGRESS"):
        return "CREATE"
    if status == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"stack {stack} is ROLLBACK_COMPLETE (its first creation failed) and can only be deleted: "
            f"delete it (aws cloudformation delete-stack --stack-name {stack}), then deploy again"
        )
    if status.endswith("_IN_PROGRESS"):
        raise DeployError(f"stack {stack} is {status}: wait until it is done, then deploy again")
    return "UPDATE"


def _status(stack: str) -> str | None:
    try:
        (found,) = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" in error.response["Error"].get("Message", ""):
            return None
        raise
    return found["StackStatus"]


def _first_failure(stack: str) -> str:
    """The oldest failure among the stack's latest events: usually the cause, the rest its consequences."""
    events = aws.client("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    failures = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', e['ResourceStatus'])}"
        for e in events
        if e["ResourceStatus"].endswith("_FAILED") and e["LogicalResourceId"] != stack
    ]
    return failures[-1] if failures else "see its events in the CloudFormation console"


def stack_outputs(stack: str) -> dict[str, str]:
    (found,) = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in found.get("Outputs", [])}


if __name__ == "__main__":
    sys.exit(main())
