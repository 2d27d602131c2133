#!/usr/bin/env python3
"""Adds Python Jinja2 renderings (the engine transformers uses) to the JSON written by
jinja_render.mjs, as "python_output"/"python_error" per case. corral follows Python where
@huggingface/jinja differs (e.g. printing a list: ['a'] in Python, ["a"] in the npm package).
Usage: python3 jinja_render_py.py FILE.json  (rewrites FILE.json in place)"""
import json
import sys
from datetime import datetime, timezone

from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Generation(Extension):
    """{% generation %}...{% endgeneration %} renders its body, as transformers' AssistantTracker."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


def raise_exception(message):
    raise ValueError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' override of Jinja's tojson (no HTML escaping)
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, Generation])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    # The clock the npm renderer pinned (jinja_render.mjs), in UTC, so both renderings and the
    # committed fixture hold the same date on any day and in any time zone.
    pinned = datetime.fromtimestamp(doc["fixed_time"], tz=timezone.utc)
    env.globals["strftime_now"] = lambda fmt: pinned.strftime(fmt)
    compiled = {}
    for case in doc["cases"]:
        name = case["template"]
        if name not in compiled:
            try:
                compiled[name] = env.from_string(doc["templates"][name])
            except Exception as e:  # noqa: BLE001 - any template error is recorded
                compiled[name] = e
        t = compiled[name]
        case["python_output"] = None
        case["python_error"] = None
        if isinstance(t, Exception):
            case["python_error"] = str(t)
            continue
        try:
            case["python_output"] = t.render(**doc["contexts"][case["context"]])
        except Exception as e:  # noqa: BLE001
            case["python_error"] = str(e)
    doc["python_generator"] = "jinja2 " + __import__("jinja2").__version__
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    same = sum(1 for c in doc["cases"] if c["error"] is None and c["python_output"] == c["output"])
    print(f"python jinja2: {len(doc['cases'])} cases, {same} identical to @huggingface/jinja")


if __name__ == "__main__":
    main()
