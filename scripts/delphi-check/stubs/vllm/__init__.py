"""Import stub of 'vllm' for scripts/delphi-check (delphi imports it; the CPU check never calls it)."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    class Stub:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("'vllm." + name + "' is stubbed for scripts/delphi-check")

    Stub.__name__ = name
    return Stub
