"""The Lambda package of a synthesized template, unzipped and run as Lambda runs it.

Each function's code and its layers are the CDK assets the template names (what `make
deploy` uploads), unzipped into their own directory as Lambda does (`/var/task`, `/opt`).
A handler runs in a fresh `python3.11 -I -S`: no site-packages, no environment-driven path,
only the code, the layer's python directories and the standard library on sys.path, and the
environment the template gives the function, its references resolved to local values.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNTIME = "python3.11"
# Lambda's python3.11 runtime runs on Amazon Linux 2: glibc 2.26.
RUNTIME_GLIBC = (2, 26)
LAYER_PATHS = ("python/lib/python3.11/site-packages", "python")
ELF_MACHINES = {"x86_64": "EM_X86_64", "arm64": "EM_AARCH64"}

# Run by `python3.11 -I -S -c RUNNER task opt handler events.json out.json`. It sets the
# path Lambda's runtime sets, imports the handler, invokes it once per event, then writes
# each answer (or the error Lambda would report), where every loaded module came from, and
# every source file the interpreter had to compile because it found no usable bytecode
# (SourceLoader.source_to_code runs only then).
RUNNER = r"""
import importlib, json, os, sys
from importlib import _bootstrap_external
task, opt, handler_name, events_path, out_path = sys.argv[1:]
sys.dont_write_bytecode = True  # Lambda's code folders are read-only
compiled = []
_source_to_code = _bootstrap_external.SourceLoader.source_to_code
def _recording(self, data, path, *args, **kwargs):
    compiled.append(os.path.realpath(path))
    return _source_to_code(self, data, path, *args, **kwargs)
_bootstrap_external.SourceLoader.source_to_code = _recording
stdlib = list(sys.path)
sys.path[:] = [task, opt + "/python/lib/python3.11/site-packages", opt + "/python", *stdlib]
os.chdir(task)

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "local"
    def get_remaining_time_in_millis(self):
        return 10000

module_name, _, attribute = handler_name.rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)
answers = []
with open(events_path) as events:
    for event in json.load(events):
        try:
            answers.append({"result": handler(event, Context())})
        except Exception as error:
            answers.append({"errorType": type(error).__name__, "errorMessage": str(error)})
modules = {
    name: os.path.realpath(module.__file__)
    for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
}
with open(out_path, "w") as out:
    json.dump({"answers": answers, "modules": modules, "stdlib": stdlib, "compiled": compiled}, out)
"""


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str
    handler: str
    architecture: str
    environment: dict[str, Any]  # as the template has it: values may be references
    code: Path  # the unzipped code: Lambda's /var/task
    opt: Path  # the unzipped layers: Lambda's /opt


@dataclass(frozen=True)
class Run:
    answers: list[dict[str, Any]]
    modules: dict[str, str]
    stdlib: list[str]
    compiled: list[str]  # source files compiled on import: no usable .pyc


def _asset(assets: Path, location: Mapping[str, Any]) -> Path:
    """The asset zip a CodeUri/ContentUri ({Bucket, Key}) or Code ({S3Bucket, S3Key}) names."""
    key = location.get("Key") or location["S3Key"]
    path = assets / f"asset.{key}"
    assert path.is_file(), f"{key} is not among the synthesized assets"
    return path


def _unzip(archive: Path, into: Path) -> Path:
    if not into.exists():
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(into)
    return into


def functions(template: dict[str, Any], assets: Path, work: Path) -> dict[str, Function]:
    """Every function of the template, its code and layers unzipped under `work`."""
    resources: dict[str, Any] = template["Resources"]
    found: dict[str, Function] = {}
    for logical, resource in resources.items():
        props = resource["Properties"]
        if resource["Type"] == "AWS::Serverless::Function":
            code = _asset(assets, props["CodeUri"])
        elif resource["Type"] == "AWS::Lambda::Function":
            code = _asset(assets, props["Code"])
        else:
            continue
        assert props["Runtime"] == RUNTIME, logical
        layers = []
        for ref in props.get("Layers", []):
            layer = resources[ref["Ref"]]["Properties"]
            layers.append(_asset(assets, layer["ContentUri"]))
        opt = work / f"opt-{logical}"
        if not opt.exists():
            for layer_zip in layers:  # later layers overwrite earlier ones, as Lambda's do
                with zipfile.ZipFile(layer_zip) as zipped:
                    zipped.extractall(opt)
        (architecture,) = props.get("Architectures", ["x86_64"])
        found[logical] = Function(
            logical_id=logical,
            name=props["FunctionName"],
            handler=props["Handler"],
            architecture=architecture,
            environment=props.get("Environment", {}).get("Variables", {}),
            code=_unzip(code, work / code.stem),
            opt=opt,
        )
    return found


def resolve(node: Any, refs: Mapping[str, str], attributes: Mapping[str, str]) -> Any:
    """A template value with Ref, Fn::GetAtt ("Logical.Attr"), Fn::Join and Fn::Sub resolved."""
    if isinstance(node, list):
        return [resolve(value, refs, attributes) for value in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref":
            return refs[value]
        if key == "Fn::GetAtt":
            return attributes[".".join(value) if isinstance(value, list) else value]
        if key == "Fn::Join":
            return value[0].join(str(resolve(v, refs, attributes)) for v in value[1])
        if key == "Fn::Sub" and isinstance(value, str):
            names = {**refs, **attributes}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: names[m.group(1)], value)
    return {key: resolve(value, refs, attributes) for key, value in node.items()}


def run(function: Function, environment: Mapping[str, str], events: list[Any], work: Path) -> Run:
    """Invoke the function's handler once per event in a fresh, isolated interpreter."""
    events_path = work / f"events-{function.logical_id}.json"
    out_path = work / f"out-{function.logical_id}.json"
    events_path.write_text(json.dumps(events), encoding="utf-8")
    out_path.unlink(missing_ok=True)
    python = Path(sys.base_prefix) / "bin" / RUNTIME
    argv = [str(python), "-I", "-S", "-c", RUNNER, str(function.code), str(function.opt)]
    done = subprocess.run(
        [*argv, function.handler, str(events_path), str(out_path)],
        env=dict(environment),
        cwd=function.code,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{function.logical_id}: {done.stderr[-3000:]}"
    out = json.loads(out_path.read_text(encoding="utf-8"))
    return Run(
        answers=out["answers"],
        modules=out["modules"],
        stdlib=out["stdlib"],
        compiled=out["compiled"],
    )


def foreign_modules(result: Run, function: Function) -> dict[str, str]:
    """Loaded modules from anywhere but the code, the layers and the standard library (whose
    directory holds the interpreter's own site-packages: not part of it)."""
    package = [os.path.realpath(p) for p in (function.code, function.opt)]
    stdlib = [os.path.realpath(p) for p in result.stdlib if Path(p).exists()]

    def within(path: str, root: str) -> bool:
        return path == root or path.startswith(root + os.sep)

    def allowed(path: str) -> bool:
        if any(within(path, root) for root in package):
            return True
        installed = {"site-packages", "dist-packages"}
        return any(
            within(path, root) and not installed & set(Path(path).relative_to(root).parts)
            for root in stdlib
        )

    return {name: path for name, path in result.modules.items() if not allowed(path)}


# -- native libraries -------------------------------------------------------------------


@dataclass(frozen=True)
class Native:
    path: Path
    machine: str
    glibc: tuple[int, ...] | None  # the highest GLIBC_x.y symbol version it needs


def native(path: Path) -> Native:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    versions: list[tuple[int, ...]] = []
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        machine = str(elf["e_machine"])
        for section in elf.iter_sections():
            if not isinstance(section, GNUVerNeedSection):
                continue
            for _, auxiliaries in section.iter_versions():
                for aux in auxiliaries:
                    match = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)*)", aux.name)
                    if match:
                        versions.append(tuple(int(n) for n in match.group(1).split(".")))
    return Native(path=path, machine=machine, glibc=max(versions) if versions else None)


def native_libraries(root: Path) -> list[Native]:
    return [native(p) for p in sorted(root.rglob("*.so*")) if p.is_file() and _is_elf(p)]


def _is_elf(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(4) == b"\x7fELF"
