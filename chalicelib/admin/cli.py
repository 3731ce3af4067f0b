"""The `tollgate` admin command line: register clients, manage users, run the local stack.

    tollgate [--stage S] [--table T] [--endpoint-url U] [--region R] [--json] COMMAND ...

    client create|list|show|update|delete|rotate-secret|set-jwks  admin/clients.py
    user   create|set-password|set-claims|disable|enable|show|list admin/users.py
           revoke-grants|delete
    user   sessions|signout                                        admin/sessions.py
    keys   rotate|list                                             admin/keys.py
    grant  list|revoke                                             admin/grants.py
    resource create|list|show|update|delete                        admin/resources.py
    local  run                                                     admin/local.py
    registration token create|revoke                               admin/initial_tokens.py

Each resource module adds its commands to the parser (`add_commands`); all of them share
admin/args.py (input checks, UsageError) and admin/output.py (Result, text layouts), and none
imports this module. admin/target.py picks the table.

Exit codes (a message on stderr that starts with "tollgate: " for each but 0):
    0  done
    1  the store could not be reached (or the local stack failed)
    2  bad input: a usage error, a value refused
    3  not found: no such client, user, grant or resource
    4  no local stack is running (stage local, no --endpoint-url)
    130  interrupted (Ctrl-C)
    141  the reader of the output went away (`| head`): nothing more is printed
With --json every command prints one JSON value on stdout.
Password hashes and client secret hashes are never printed; a client secret is printed
once, by the command that creates it.
"""

from __future__ import annotations

import argparse
import os
import sys

from chalicelib.admin import (
    clients,
    factors,
    grants,
    initial_tokens,
    keys,
    resources,
    sessions,
    users,
)
from chalicelib.admin.args import Groups, NotFound, Parser, UsageError, port_number
from chalicelib.admin.local_state import NoLocalStack
from chalicelib.admin.output import Handler, Result, print_result
from chalicelib.admin.target import Target, build_store, resolve_target, unavailable_message
from chalicelib.observability import logs
from chalicelib.stores.repository import Store
from chalicelib.stores.table import StoreUnavailable

PROG = "tollgate"
DEFAULT_PORT = 8000
DEFAULT_MOTO_PORT = 5055
BROKEN_PIPE = 128 + 13  # as if killed by SIGPIPE, like other tools at the head of a pipe


def _local_commands(groups: Groups) -> None:
    local = groups.add_parser("local", help="the local development stack")
    cmds = local.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub = cmds.add_parser("run", help="moto + seeded demo data + chalice local (make run)")
    # String defaults go through `type` too, so a bad PORT or MOTO_PORT is a usage error.
    sub.add_argument(
        "--port",
        type=port_number,
        default=os.environ.get("PORT") or str(DEFAULT_PORT),
        help=f"chalice local's port (env PORT; default {DEFAULT_PORT})",
    )
    sub.add_argument(
        "--moto-port",
        type=port_number,
        default=os.environ.get("MOTO_PORT") or str(DEFAULT_MOTO_PORT),
        help=f"moto server's port (env MOTO_PORT; default {DEFAULT_MOTO_PORT})",
    )
    sub.add_argument(
        "--reload",
        action="store_true",
        help="restart chalice local when a file below the project changes (polls the tree)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Administer a Tollgate authorization server: clients, users, local stack.",
    )
    parser.add_argument(
        "--stage",
        default=os.environ.get("TOLLGATE_STAGE") or "local",
        help="deployment stage (env TOLLGATE_STAGE; default local)",
    )
    parser.add_argument(
        "--table", help="DynamoDB table (env TOLLGATE_TABLE; default tollgate-<stage>)"
    )
    parser.add_argument(
        "--endpoint-url",
        help="DynamoDB endpoint (env AWS_ENDPOINT_URL; for stage local, the moto server of "
        "the running `make run`; an empty value means AWS itself)",
    )
    parser.add_argument(
        "--region", help="AWS region (env AWS_REGION or AWS_DEFAULT_REGION; default us-east-1)"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")

    # --json is accepted after the subcommand too; SUPPRESS keeps the global value otherwise.
    leaf = Parser(add_help=False)
    leaf.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="as JSON")

    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    clients.add_commands(groups, leaf)
    user_commands = users.add_commands(groups, leaf)
    sessions.add_commands(user_commands, leaf)
    factors.add_commands(user_commands, leaf)
    _local_commands(groups)
    keys.add_commands(groups, leaf)
    grants.add_commands(groups, leaf)
    initial_tokens.add_commands(groups, leaf)
    resources.add_commands(groups, leaf)
    return parser


# -- running a command ----------------------------------------------------------------------


def main(argv: list[str] | None = None, store: Store | None = None) -> int:
    """Run one command; `store` replaces the DynamoDB store (tests). Returns the exit code."""
    target: Target | None = None
    logs.configure(stream=lambda: sys.stderr)  # audit records of changes: stdout is the answer
    try:
        args = build_parser().parse_args(argv)
        if args.group == "local":
            from chalicelib.admin.local import run

            return run(port=args.port, moto_port=args.moto_port, reload=args.reload)
        handler: Handler = args.handler
        if store is None:
            target = resolve_target(args)
            store = build_store(target)
        result = handler(args, store)
    except NotFound as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 3
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except NoLocalStack as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 4
    except StoreUnavailable as exc:
        print(unavailable_message(exc, target), file=sys.stderr)
        return 1
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    return _print(result, args.json)


def _print(result: Result, as_json: bool) -> int:
    try:
        print_result(result, as_json)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`tollgate client list | head -1`). Point stdout at /dev/null
        # so that the interpreter's own flush at exit does not fail again with a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
