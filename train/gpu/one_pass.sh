#!/usr/bin/env bash
# The one-pass recipe (docs/training.md) from the shipped model on one GPU, in one device call of at most
# 10 minutes: record and encode the training data, the distill stage, then the adversarial stage until the
# time is up. The newest model (bf16), the TensorBoard logs and samples come back in $OUT as pieces under the
# device's 16 MiB limit.
#
#   here, once:       train/gpu/wheels.sh
#   the device call:  command "bash train/gpu/one_pass.sh", carry [".gpu"], timeout_s 600
#   back here:        mkdir -p runs/gpu-one-pass && cat FILES_AT/one_pass.tar.part-* | tar -x -C runs/gpu-one-pass
#                     wm-video eval --model runs/gpu-one-pass/adversarial/model --out reports/gpu-one-pass
#
# A dry run on a CPU with a tiny budget: OUT=/tmp/o SECONDS_LEFT=400 EPISODES=4 FRAMES=40 DISTILL_STEPS=2 \
#   ADVERSARIAL_STEPS=2 PYTHON=.venv/bin/python bash train/gpu/one_pass.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
deadline=$((SECONDS + ${SECONDS_LEFT:-540}))  # leaves the 600 s call a minute to pack and send
python=${PYTHON:-python3}
work=${WORK:-/tmp/wm-one-pass}
out=${OUT:?the device sets OUT: the folder whose files come back}

if ! "$python" -c "import diffusers, datasets" 2>/dev/null; then  # the image lacks them: train/gpu/wheels.sh
    "$python" -m pip install --quiet --no-index --no-deps .gpu/wheels/*.whl
fi
export PYTHONPATH=$PWD
"$python" -c "import torch, diffusers, datasets; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
wm() { "$python" -m wm_video.cli "$@"; }
left() { echo $((deadline - SECONDS)); }

rm -rf "$work" && mkdir -p "$work"
wm record --out "$work/game" --episodes "${EPISODES:-48}" --frames "${FRAMES:-500}" --seed 0 --workers "$(nproc)"
wm encode --data "$work/game" --vae wm_video/pretrained/default/vae --out "$work/latents" --workers 8
wm train-one-pass --config train/one_pass_distill.yaml --data "$work/latents" --init wm_video/pretrained/default \
    --out "$work/runs/distill" ${DISTILL_STEPS:+--steps $DISTILL_STEPS}
echo "adversarial stage: $(left) s left"
# SIGINT at the deadline: the model exported at the last checkpoint (every 100 steps) is what comes back
timeout --signal=INT "$(left)" "$python" -m wm_video.cli train-one-pass --config train/one_pass_adversarial.yaml \
    --data "$work/latents" --init "$work/runs/distill/model" --out "$work/runs/adversarial" \
    ${ADVERSARIAL_STEPS:+--steps $ADVERSARIAL_STEPS} || echo "adversarial stage stopped at the deadline"

# the newest model in bf16 (as shipped models are: half the bytes), both stages' logs, their last samples
stage=adversarial && [ -d "$work/runs/adversarial/model" ] || stage=distill
for run in distill adversarial; do
    mkdir -p "$work/back/$run"
    cp -r "$work/runs/$run"/{train_one_pass,train_config.json} "$work/back/$run/" 2>/dev/null || true
    last=$(ls "$work/runs/$run/samples" 2>/dev/null | tail -n 1 || true)  # the newest real | imagined GIF (1-2 MB)
    [ -z "$last" ] || cp "$work/runs/$run/samples/$last" "$work/back/$run/"
done
"$python" -c "import sys, torch; from wm_video.world_model import WorldModel
WorldModel.load(sys.argv[1]).save(sys.argv[2], dtype=torch.bfloat16)" "$work/runs/$stage/model" "$work/back/$stage/model"
mkdir -p "$out"
tar -C "$work/back" -cf - . | split -b 15M - "$out/one_pass.tar.part-"
ls -l "$out"
