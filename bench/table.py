"""Issue 13's table, today's figures beside this run's: `make bench` prints it at the end.

A bench module reports a row it measured with `report(ROW, figure, floor, ratio)`, its
figure and floor as measured in the same run (a module run alone prints its own lines and
nothing of this). A row no module reported is printed as not measured in this run.
"""

from __future__ import annotations

from dataclasses import dataclass

# The rows' keys, for the modules that report them.
API_COLD = "api cold start"
AUTHORIZER_COLD = "authorizer cold start"
AUTHORIZER_CORE = "authorizer warm, core"
AUTHORIZER_HANDLER = "authorizer warm, handler"
CLIENT_CREDENTIALS = "client_credentials"
CODE_EXCHANGE = "code exchange"
REFRESH = "refresh with openid"


@dataclass(frozen=True)
class Today:
    what: str
    figure: str
    floor: str
    ratio: str
    target: str


# The text (measured before its work, on the same kind of shared 2-core machine).
TODAY = {
    API_COLD: Today(
        "API cold start (packaged zip + layer, import + first client_credentials)",
        "962 ms CPU",
        "same with bytecode: 488 ms",
        "1.97x",
        "<= 0.5x today's",
    ),
    AUTHORIZER_COLD: Today(
        "standalone authorizer cold start, first validation",
        "286 ms CPU",
        "minimal PyJWT authorizer: 236 ms",
        "1.21x",
        "<= 0.6x today's",
    ),
    AUTHORIZER_CORE: Today(
        "authorizer warm, one validation (core)",
        "217 us",
        "raw ECDSA verify + base64 + JSON: 104 us",
        "2.1x",
        "<= 1.3x floor",
    ),
    AUTHORIZER_HANDLER: Today(
        "authorizer warm, Lambda handler (event to policy)",
        "264 us",
        "same raw floor",
        "2.5x",
        "<= 1.5x floor",
    ),
    CLIENT_CREDENTIALS: Today(
        "client_credentials, warm handler", "0.27 ms", "one ES256 signature: 0.04 ms", "6.9x", "-"
    ),
    CODE_EXCHANGE: Today(
        "code exchange (ES256 access + RS256 ID + refresh), DynamoDB",
        "6.4 ms",
        "its two signatures",
        "8.7x",
        "<= 4x floor",
    ),
    REFRESH: Today(
        "refresh with openid, DynamoDB", "8.3 ms", "its two signatures", "11.5x", "<= 5x floor"
    ),
}


@dataclass(frozen=True)
class Measured:
    figure: str
    floor: str
    ratio: str


_measured: dict[str, Measured] = {}


def report(row: str, figure: str, floor: str, ratio: str) -> None:
    """This run's figure for one of TODAY's rows (a later report replaces an earlier one)."""
    if row not in TODAY:
        raise KeyError(f"not a row of issue 13's table: {row}")
    _measured[row] = Measured(figure, floor, ratio)


def render() -> str:
    head = (
        "| what | today | floor today | ratio today | new | floor, same run | new ratio | target |"
    )
    lines = [head, "|" + " --- |" * 8]
    for row, today in TODAY.items():
        new = _measured.get(row, Measured("not measured in this run", "-", "-"))
        lines.append(
            f"| {today.what} | {today.figure} | {today.floor} | {today.ratio} "
            f"| {new.figure} | {new.floor} | {new.ratio} | {today.target} |"
        )
    return "\n".join(lines)
