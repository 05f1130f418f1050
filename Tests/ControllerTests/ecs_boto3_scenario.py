"""boto3 against a live Gantry cluster's ECS face (run by ECSCommandLineTests; exit 0 when every step held).

Usage: python3 ecs_boto3_scenario.py ENDPOINT ACCESS_KEY_ID SECRET TASKDEF_FILE SESSION_KEY SESSION_SECRET TOKEN
Prints one line per step and the seconds it took.
"""
import datetime
import json
import sys
import time

import boto3
import botocore.auth
from botocore.exceptions import ClientError

endpoint, key, secret, taskdef_file, session_key, session_secret, session_token = sys.argv[1:8]
ecs = boto3.client(
    "ecs",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=key,
    aws_secret_access_key=secret,
)
fast = {"Delay": 1, "MaxAttempts": 120}

# Every answer is checked against botocore's model of the operation's output (ECS's contract): each member the
# model knows must have the model's JSON type. Unknown members are allowed (Gantry adds a few); wrong types are not.
model = ecs.meta.service_model
mismatches = []


def check_shape(shape, value, path):
    kind = shape.type_name
    expected = {
        "string": str, "boolean": bool, "integer": int, "long": int, "timestamp": (int, float),
        "double": (int, float), "float": (int, float), "list": list, "structure": dict, "map": dict,
    }.get(kind)
    if expected is None or value is None:
        return
    if not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool)):
        mismatches.append(f"{path}: model says {kind}, got {type(value).__name__} {value!r:.60}")
        return
    if kind == "structure":
        for name, member in shape.members.items():
            if name in value:
                check_shape(member, value[name], f"{path}.{name}")
    elif kind == "list":
        for index, element in enumerate(value):
            check_shape(shape.member, element, f"{path}[{index}]")
    elif kind == "map":
        for key, element in value.items():
            check_shape(shape.value, element, f"{path}.{key}")


def check_answer(operation_model, response_dict, **kwargs):
    if response_dict["status_code"] != 200:
        return
    output = operation_model.output_shape
    if output is not None:
        check_shape(output, json.loads(response_dict["body"] or b"{}"), operation_model.name)


ecs.meta.events.register("before-parse.ecs.*", check_answer)
started = time.monotonic()


def step(name):
    print(f"boto3: {name} ({time.monotonic() - started:.1f} s)", flush=True)


def expect_error(code, call, **arguments):
    try:
        call(**arguments)
    except ClientError as error:
        got = error.response["Error"]["Code"]
        assert got == code, f"{call.__name__}: expected {code}, got {got}: {error}"
        return error
    raise AssertionError(f"{call.__name__} succeeded; expected {code}")


cluster = ecs.create_cluster(clusterName="e2e")["cluster"]
assert cluster["clusterArn"] == "arn:aws:ecs:us-east-1:123456789012:cluster/e2e", cluster
assert isinstance(cluster.get("createdAt", datetime.datetime.now()), datetime.datetime)
step("create_cluster")

with open(taskdef_file) as file:
    definition = json.load(file)
registered = ecs.register_task_definition(**definition)["taskDefinition"]
assert registered["revision"] == 1 and registered["family"] == "hello", registered
step("register_task_definition")

create = dict(
    cluster="e2e",
    serviceName="api",
    taskDefinition="hello",
    desiredCount=2,
    deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 50,
    },
    clientToken="boto3-create-api",
)
service = ecs.create_service(**create)["service"]
assert service["serviceName"] == "api" and service["desiredCount"] == 2, service
again = ecs.create_service(**create)["service"]
assert again["serviceArn"] == service["serviceArn"], "a retried create with the same clientToken is the same service"
expect_error("InvalidParameterException", ecs.create_service, **dict(create, desiredCount=3))
ecs.get_waiter("services_stable").wait(cluster="e2e", services=["api"], WaiterConfig=fast)
step("create_service + services_stable")

ecs.update_service(cluster="e2e", service="api", desiredCount=1)
ecs.get_waiter("services_stable").wait(cluster="e2e", services=["api"], WaiterConfig=fast)
described = ecs.describe_services(cluster="e2e", services=["api", "missing"])
assert described["services"][0]["runningCount"] == 1, described["services"][0]
assert described["failures"][0]["reason"] == "MISSING", described["failures"]
deployments = described["services"][0]["deployments"]
assert len(deployments) == 1 and deployments[0]["runningCount"] == 1, deployments
assert isinstance(deployments[0]["createdAt"], datetime.datetime)
step("update_service (scale in) + services_stable")

run = ecs.run_task(cluster="e2e", taskDefinition="hello", count=1, startedBy="boto3")
assert run["failures"] == [] and len(run["tasks"]) == 1, run
task = run["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_running").wait(cluster="e2e", tasks=[task], WaiterConfig=fast)
listed = ecs.list_tasks(cluster="e2e", startedBy="boto3")["taskArns"]
assert listed == [task], listed
ecs.stop_task(cluster="e2e", task=task, reason="boto3 test")
ecs.get_waiter("tasks_stopped").wait(cluster="e2e", tasks=[task], WaiterConfig=fast)
stopped = ecs.describe_tasks(cluster="e2e", tasks=[task])["tasks"][0]
assert stopped["lastStatus"] == "STOPPED" and stopped["stoppedReason"] == "boto3 test", stopped
step("run_task + tasks_running + stop_task + tasks_stopped")

instance = ecs.list_container_instances(cluster="e2e")["containerInstanceArns"][0]
started_task = ecs.start_task(cluster="e2e", taskDefinition="hello", containerInstances=[instance], startedBy="start")
assert started_task["failures"] == [] and started_task["tasks"][0]["containerInstanceArn"] == instance, started_task
started_arn = started_task["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_running").wait(cluster="e2e", tasks=[started_arn], WaiterConfig=fast)
ecs.stop_task(cluster="e2e", task=started_arn)
ecs.get_waiter("tasks_stopped").wait(cluster="e2e", tasks=[started_arn], WaiterConfig=fast)
expect_error(
    "ClientException", ecs.start_task, cluster="e2e", taskDefinition="hello",
    containerInstances=["0123456789abcdef0123456789abcdef"],
)
step("start_task on a named instance + tasks_running + tasks_stopped")

cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/e2e"
ecs.tag_resource(resourceArn=cluster_arn, tags=[{"key": "team", "value": "web"}, {"key": "tier", "value": "1"}])
ecs.tag_resource(resourceArn=service["serviceArn"], tags=[{"key": "owner", "value": "ops"}])
ecs.untag_resource(resourceArn=cluster_arn, tagKeys=["tier"])
assert ecs.list_tags_for_resource(resourceArn=cluster_arn)["tags"] == [{"key": "team", "value": "web"}]
assert ecs.list_tags_for_resource(resourceArn=service["serviceArn"])["tags"] == [{"key": "owner", "value": "ops"}]
expect_error("ResourceNotFoundException", ecs.list_tags_for_resource, resourceArn=cluster_arn + "-none")
step("tag_resource, untag_resource, list_tags_for_resource")

deployments = ecs.list_service_deployments(cluster="e2e", service="api")["serviceDeployments"]
assert len(deployments) >= 1 and deployments[0]["status"] in ("SUCCESSFUL", "IN_PROGRESS"), deployments
detail = ecs.describe_service_deployments(serviceDeploymentArns=[deployments[0]["serviceDeploymentArn"]])
assert detail["serviceDeployments"][0]["serviceDeploymentArn"] == deployments[0]["serviceDeploymentArn"], detail
assert detail["serviceDeployments"][0]["targetServiceRevision"]["requestedTaskCount"] == 1, detail
step("list_service_deployments, describe_service_deployments")

ecs.put_account_setting(name="containerInsights", value="enabled")
settings = ecs.list_account_settings(name="containerInsights")["settings"]
assert settings[0]["value"] == "enabled", settings
effective = {s["name"]: s["value"] for s in ecs.list_account_settings(effectiveSettings=True)["settings"]}
assert effective["serviceLongArnFormat"] == "enabled" and effective["containerInsights"] == "enabled", effective
ecs.delete_account_setting(name="containerInsights")
assert ecs.list_account_settings(name="containerInsights")["settings"] == []
expect_error("InvalidParameterException", ecs.put_account_setting, name="noSuchSetting", value="x")
step("put_account_setting, list_account_settings, delete_account_setting")

for number in range(2, 5):
    ecs.register_task_definition(**definition)
pages = list(ecs.get_paginator("list_task_definitions").paginate(PaginationConfig={"PageSize": 2}))
arns = [arn for page in pages for arn in page["taskDefinitionArns"]]
assert len(pages) == 2 and len(arns) == 4, pages
step("list_task_definitions paginated")

expect_error("ClusterNotFoundException", ecs.describe_services, cluster="nowhere", services=["x"])
expect_error("ServiceNotFoundException", ecs.update_service, cluster="e2e", service="nothing", desiredCount=1)
expect_error("InvalidParameterException", ecs.update_service, cluster="e2e", service="api", desiredCount=-1)
expect_error("ClusterContainsServicesException", ecs.delete_cluster, cluster="e2e")
step("modelled errors")

real_now = botocore.auth.get_current_datetime
botocore.auth.get_current_datetime = lambda: real_now() - datetime.timedelta(minutes=20)
try:
    error = expect_error("InvalidSignatureException", ecs.list_clusters)
    assert "expired" in str(error).lower() or "skew" in str(error).lower(), error
finally:
    botocore.auth.get_current_datetime = real_now
bad = boto3.client(
    "ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
    aws_secret_access_key="not-the-secret-not-the-secret",
)
expect_error("InvalidSignatureException", bad.list_clusters)
temporary = boto3.client(
    "ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=session_key,
    aws_secret_access_key=session_secret, aws_session_token=session_token,
)
assert "arn:aws:ecs:us-east-1:123456789012:cluster/e2e" in temporary.list_clusters()["clusterArns"]
expect_error("AccessDeniedException", temporary.create_cluster, clusterName="nope")
no_token = boto3.client(
    "ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=session_key,
    aws_secret_access_key=session_secret,
)
expect_error("UnrecognizedClientException", no_token.list_clusters)
wrong_token = boto3.client(
    "ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=session_key,
    aws_secret_access_key=session_secret, aws_session_token="not-the-token",
)
expect_error("UnrecognizedClientException", wrong_token.list_clusters)
step("signature refusals: skewed date, wrong secret; session tokens: right, missing, wrong")
without_tags = ecs.describe_services(cluster="e2e", services=["api"])["services"][0]
with_tags = ecs.describe_services(cluster="e2e", services=["api"], include=["TAGS"])["services"][0]
assert "tags" not in without_tags and with_tags["tags"] == [{"key": "owner", "value": "ops"}], with_tags
expect_error("InvalidParameterException", ecs.describe_clusters, clusters=["e2e"], include=["NOPE"])
step("include=TAGS as ECS has it")

ecs.delete_service(cluster="e2e", service="api", force=True)
ecs.get_waiter("services_inactive").wait(cluster="e2e", services=["api"], WaiterConfig=fast)
step("delete_service + services_inactive")
assert not mismatches, "answers that break ECS's model:\n" + "\n".join(sorted(set(mismatches)))
step("every answer matched botocore's model of ECS")
print("boto3: PASS", flush=True)
