"""Tollgate on AWS: the CDK app that deploys one stage (table, KMS keys, functions, API).

app.py          the CDK entry point (`cdk synth -c stage=dev`, run from this directory)
config.py       per-stage settings, from CDK context
chalice_app.py  the Chalice app as a construct, its functions named and unlinked from the API
stack.py        the stage's stack: table, keys, roles, functions, gateway responses, alarms
outputs.py      prints the issuer URL and the other outputs after `make deploy`
"""
