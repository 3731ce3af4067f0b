"""How DynamoTable reads DynamoDB's failures (botocore's exceptions, which the lean client
raises too): a throttled or failing service is StoreUnavailable, a failed condition is left
to the caller, and a canceled transaction names the writes whose condition failed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.stores.table import Item, StoreUnavailable, TransactionCanceled

UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "ResourceNotFoundException",
}


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except UnicodeEncodeError as exc:
        # DynamoDB refuses a string that is not UTF-8 (ValidationException); moto fails
        # before sending it. Either way: callers must never send one.
        raise StoreUnavailable("a string that is not UTF-8") from exc
    except Exception as exc:
        # botocore's exceptions are imported only when a call failed: the lean client loads
        # no botocore module while calls succeed (a cold start pays each import).
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"ConditionalCheckFailedException", "TransactionCanceledException"}:
                raise  # the caller reads the condition's outcome
            if code in UNAVAILABLE or code.endswith("Throttling"):
                raise StoreUnavailable(code) from exc
            raise StoreUnavailable(f"DynamoDB error {code}") from exc
        if isinstance(exc, BotoCoreError):
            raise StoreUnavailable(type(exc).__name__) from exc
        raise


def is_condition_failure(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    return (
        isinstance(exc, ClientError)
        and exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def canceled(exc: Exception, live: Callable[[dict[str, Any] | None], Item | None]) -> Exception:
    """TransactionCanceled with the current items of the writes whose condition failed
    (`live` decodes one), or StoreUnavailable when none did (a conflict, a throttle)."""
    from botocore.exceptions import ClientError

    assert isinstance(exc, ClientError)
    reasons = exc.response.get("CancellationReasons", [])
    failed = {
        i: live(dict(reason["Item"]) if "Item" in reason else None)
        for i, reason in enumerate(reasons)
        if reason.get("Code") == "ConditionalCheckFailed"
    }
    if failed:
        return TransactionCanceled(failed)
    codes = sorted({str(r.get("Code")) for r in reasons} - {"None"})
    return StoreUnavailable(f"transaction canceled: {codes}")
