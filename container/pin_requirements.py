"""Print container/requirements.txt: pyproject's runtime dependencies and their closure, pinned to this environment.

Usage: python container/pin_requirements.py pyproject.toml > container/requirements.txt
"""
import importlib.metadata as md
import re
import sys
import tomllib

from packaging.requirements import Requirement

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
stack = [Requirement(r).name for r in project["dependencies"]]
pins = {}
while stack:
    name = stack.pop()
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in pins:
        continue
    dist = md.distribution(name)
    pins[key] = dist.version
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            stack.append(req.name)
print("# Generated from pyproject.toml [project.dependencies] and the versions installed in the")
print("# development environment; regenerate with the command in container/README.md.")
for key in sorted(pins):
    print(f"{key}=={pins[key]}")
