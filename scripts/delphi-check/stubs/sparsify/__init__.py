"""Import stub of 'sparsify' for scripts/delphi-check: delphi imports it (and its submodules) at module level,
but reading a run's results on CPU never calls it. Every name is a class that refuses to be instantiated."""
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


def __getattr__(name):
    return _stub(__name__, name)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.startswith(__name__ + "."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []
        m.__getattr__ = lambda name: _stub(spec.name, name)
        return m

    def exec_module(self, module):
        pass


sys.meta_path.append(_Finder())
