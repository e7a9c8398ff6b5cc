"""Import stubs for scripts/delphi-check: delphi imports vllm, sentence_transformers, faiss and sparsify (and their
submodules) at module level, but reading a run's results on CPU never calls them. `install(__name__, globals())`
in a stub package's __init__.py makes every name of it and of its submodules a class that refuses to be
instantiated (run.sh writes those one-line packages for the modules the venv lacks)."""
import importlib.abc
import importlib.machinery
import sys
import types


def _stub(module, name):
    if name.startswith("__"):
        raise AttributeError(name)

    class Stub:
        def __init__(self, *args, **kwargs):
            raise RuntimeError(f"'{module}.{name}' is stubbed for scripts/delphi-check")

    Stub.__name__ = name
    return Stub


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, package):
        self.package = package

    def find_spec(self, fullname, path, target=None):
        if fullname.startswith(self.package + "."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []
        m.__getattr__ = lambda name: _stub(spec.name, name)
        return m

    def exec_module(self, module):
        pass


def install(package, namespace):
    """Makes `package` (whose module globals are `namespace`) and its submodules stubs."""
    namespace["__getattr__"] = lambda name: _stub(package, name)
    sys.meta_path.append(_Finder(package))
