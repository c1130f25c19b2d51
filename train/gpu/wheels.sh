#!/usr/bin/env bash
# Run on the CPU machine before a GPU lease: the wheels wm-video needs that the device's image lacks.
# The image (python3 3.12, torch + CUDA, accelerate, numba, pyarrow, opencv, tensorboard) has the rest;
# these go to .gpu/wheels (git-ignored, ~8 MB), which the device call carries. See train/gpu/one_pass.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu/wheels
# the same versions as this checkout's .venv, built for the image's Python
pins=$(.venv/bin/pip freeze | grep -i -E '^(diffusers|datasets|dill|multiprocess|huggingface.hub|importlib.metadata)==')
.venv/bin/pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 -d .gpu/wheels $pins
ls .gpu/wheels
