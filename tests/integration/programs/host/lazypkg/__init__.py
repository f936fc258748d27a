"""A package whose functions import lazily, as click's do."""


def lazy_json(value):
    import json

    return json.dumps(value)


def lazy_join(*parts):
    from os import path

    return path.join(*parts)
