"""Creates (or updates) the demo secrets in the Secrets Manager stand-in and prints their ARNs
as shell assignments. Uses boto3, which moto brings into the venv."""
import json
import os

import boto3

sm = boto3.client("secretsmanager")
env = os.environ


def put(name, value):
    body = json.dumps(value)
    try:
        arn = sm.create_secret(Name=name, SecretString=body)["ARN"]
    except sm.exceptions.ResourceExistsException:
        arn = sm.put_secret_value(SecretId=name, SecretString=body) and sm.describe_secret(SecretId=name)["ARN"]
    return arn


arns = {
    "STYTCH_B2B_SECRET_ARN": put("gatehouse/stytch", {
        "project_id": env["B2B_PROJECT"], "secret": env["STYTCH_SECRET"], "kind": "b2b"}),
    "STYTCH_CONSUMER_SECRET_ARN": put("gatehouse/stytch-consumer", {
        "project_id": env["CONSUMER_PROJECT"], "secret": env["STYTCH_SECRET"], "kind": "consumer"}),
    "SANITY_SECRET_ARN": put("gatehouse/sanity", {
        "project_id": env["SANITY_PROJECT"], "dataset": env["SANITY_DATASET"], "read_token": env["SANITY_TOKEN"],
        "webhook_secret": env["WEBHOOK_SECRET"]}),
    "DESCOPE_SECRET_ARN": put("gatehouse/descope", {
        "project_id": env["DESCOPE_PROJECT"], "management_key": env["DESCOPE_MANAGEMENT_KEY"]}),
    "INSFORGE_SECRET_ARN": put("gatehouse/insforge", {
        "jwt_secret": env["INSFORGE_JWT_SECRET"], "base_url": env["INSFORGE_BASE_URL"]}),
}
for k, v in arns.items():
    print(f"{k}={v}")
