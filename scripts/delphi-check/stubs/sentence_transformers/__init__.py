"""Import stub of 'sentence_transformers' for scripts/delphi-check (delphi imports it; the CPU check never calls it)."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    class Stub:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("'sentence_transformers." + name + "' is stubbed for scripts/delphi-check")

    Stub.__name__ = name
    return Stub
