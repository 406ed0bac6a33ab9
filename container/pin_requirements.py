"""Print container/requirements.txt: pyproject's runtime dependencies (with the s3, report, image and cluster extras) and their closure, pinned to this environment.

Usage: python container/pin_requirements.py pyproject.toml > container/requirements.txt
"""
import importlib.metadata as md
import re
import sys
import tomllib

from packaging.requirements import Requirement

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
# The runtime dependencies plus the "s3" extra: in the container, dataset_uri, facet and
# predicted-label datasets and SHAP baselines are s3:// URIs, read through s3fs. The "report"
# extra: the container writes report.html / .ipynb / .pdf as Clarify's does. The "image" extra:
# image datasets (SLIC superpixels, decoding and heat maps). The "cluster" extra: multi-instance
# jobs run on dask.distributed (a scheduler and workers in the containers).
runtime = (project["dependencies"] + project["optional-dependencies"]["s3"]
           + project["optional-dependencies"]["report"] + project["optional-dependencies"]["image"]
           + project["optional-dependencies"]["cluster"])
stack = [Requirement(r).name for r in runtime]
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
