"""bench/tokens_cost.py: the Lambda-duration estimate uses the AWS calls the bench counted,
and those are the warm code exchange's (tests/functional/test_aws_calls.py: one GetItem of
the code, one transaction), not those of a code /authorize would never write."""

from __future__ import annotations

from bench import tokens_cost


def test_the_bench_counts_the_code_exchange_as_authorize_makes_it() -> None:
    dynamodb, kms = tokens_cost.aws_calls(3)
    per_request = {name: count / 3 for name, count in dynamodb.items()}
    assert per_request["GetItem"] == 1 and per_request["TransactWriteItems"] == 1
    assert tokens_cost.dynamodb_calls(dynamodb, 3) == 2
    assert sum(kms.values()) == 0
