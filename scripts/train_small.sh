#!/usr/bin/env bash
# The recipe of the shipped small DreamZero (`./dev train-small`): record noisy expert demonstrations of
# Lift as a LeRobot dataset, train the `small` config on them, evaluate the result with the real policy on
# 20 seeds it never trained on, and copy the exported weights into the package (the `dreamzero` default).
#   WORK=dir (default work/train_small)   EPISODES=N demonstrations (default 200)   STEPS=N (default 3000)
#   PHASES=N training windows per call interval (default 4)   BATCH=N (default 16)
#   SHIP=0 skips copying the weights into dreamzero_jax/assets/dreamzero_small
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORK=${WORK:-work/train_small}
EPISODES=${EPISODES:-200}
STEPS=${STEPS:-3000}
PHASES=${PHASES:-4}
BATCH=${BATCH:-16}
rm -rf "$WORK"/{data,demos_run,ckpt,eval_run}  # the recipe owns WORK: every run starts from scratch
mkdir -p "$WORK"
t0=$(date +%s)
stamp() { echo "[train-small] $(( $(date +%s) - t0 )) s: $*" >&2; }

stamp "1/4 recording $EPISODES noisy expert demonstrations of Lift (seeds 1000+)"
"$PY" -m evals.run --suite test_cases/lift_demos.json --max-episodes "$EPISODES" --policy expert \
  --policy-opt action_noise=0.02 --dataset "$WORK/data" --workers 2 --video none --quiet \
  --output "$WORK/demos_run"

stamp "2/4 training the small config: $STEPS steps on windows at $PHASES phases of the call interval"
# the first run on a dataset encodes its windows once (DATA/cache); the VAE's latent constants are fitted
# to the training latents (the VAE is random: docs/decisions.md)
"$PY" -m dreamzero_jax.train --config small --data "$WORK/data" --out "$WORK/ckpt" --phases "$PHASES" \
  --steps "$STEPS" --batch "$BATCH" --lr 3e-4 --warmup 200 --ema 0.995 --action-weight 5 \
  --eval-every 500 --checkpoint-every 500 --overwrite

stamp "3/4 evaluating on 20 unseen seeds (KV-cached chunk inference, DiT step cache on)"
"$PY" -m evals.run --suite test_cases/lift_eval.json --policy dreamzero --checkpoint "$WORK/ckpt" \
  --video failures --output "$WORK/eval_run"

if [ "${SHIP:-1}" = 1 ]; then
  stamp "4/4 shipping the weights as dreamzero_jax/assets/dreamzero_small"
  # params only: the policy checkpoint without the training state (CKPT/train/: optimizer, metrics)
  rm -rf dreamzero_jax/assets/dreamzero_small && mkdir -p dreamzero_jax/assets/dreamzero_small
  cp -r "$WORK"/ckpt/{model_config.json,normalization.json,image_features.npy,dit,vae,t5} \
    dreamzero_jax/assets/dreamzero_small/
  du -sh dreamzero_jax/assets/dreamzero_small >&2
fi
stamp "done"
