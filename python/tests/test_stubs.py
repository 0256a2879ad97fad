"""The shipped type stubs match the compiled module (a small stubtest), and
the package is marked typed."""

import ast
import builtins
import inspect
import os

import mcring
from mcring import _mcring

PACKAGE = os.path.dirname(mcring.__file__)


def stub_tree():
    with open(os.path.join(PACKAGE, "_mcring.pyi")) as f:
        return ast.parse(f.read())


def test_py_typed_is_shipped():
    assert os.path.exists(os.path.join(PACKAGE, "py.typed"))


def test_stub_declares_every_name_of_the_module():
    tree = stub_tree()
    declared = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    declared |= {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    declared |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    runtime = {n for n in dir(_mcring) if not n.startswith("_")} | {"__version__"}
    assert runtime <= declared | {"Key"}
    assert declared - {"Key"} == runtime
    # Names of builtins stay out of `from mcring import *`.
    shadowing = {n for n in runtime if hasattr(builtins, n)}
    assert shadowing == {"ConnectionError", "TimeoutError", "InterruptedError"}
    assert set(mcring.__all__) == runtime - shadowing


def test_star_import_leaves_builtins_alone():
    scope = {}
    exec("from mcring import *", scope)
    assert "ConnectionError" not in scope and "TimeoutError" not in scope
    assert "Client" in scope and "Error" in scope


def test_stub_methods_match_the_client():
    client = next(n for n in stub_tree().body if isinstance(n, ast.ClassDef) and n.name == "Client")
    stubbed = {f.name: f for f in client.body if isinstance(f, ast.FunctionDef)}
    public = {n for n in dir(mcring.Client) if not n.startswith("_")}
    assert public == {n for n in stubbed if not n.startswith("_")}
    for name in public - {"servers"}:
        runtime = [p for p in inspect.signature(getattr(mcring.Client, name)).parameters]
        args = stubbed[name].args
        stub = [a.arg for a in args.args + args.kwonlyargs]
        assert runtime == stub, name
    for dunder in ["__getitem__", "__setitem__", "__delitem__", "__contains__", "__enter__", "__exit__"]:
        assert dunder in stubbed and hasattr(mcring.Client, dunder)
