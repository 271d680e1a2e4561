#!/bin/bash
# A loadlab tuning sweep as a Slurm job array: task I runs `--shard I/N` (Slurm sets SLURM_ARRAY_TASK_ID to I)
# and writes its JSON lines to the shared filesystem; a dependent job merges them.
#
#   sbatch deploy/slurm-array.sh
#   # or by hand, after every task has finished:
#   loadlab merge results/tune-*.jsonl
#
# Shards are deterministic: a requeued task redoes exactly its own jobs.
#SBATCH --job-name=loadlab-tune
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=02:00:00
#SBATCH --output=results/slurm-%A_%a.log
set -euo pipefail
SHARDS=$(( SLURM_ARRAY_TASK_MAX + 1 ))   # --array=0-7 gives 8 shards, numbered 0 to 7
mkdir -p results
loadlab tune --controller conn-p --budget 400 --duration 180 --seed 1 \
  --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" --out "results/tune-${SLURM_ARRAY_TASK_ID}.jsonl"
# The last task to start queues the merge once the whole array is done.
if [ "${SLURM_ARRAY_TASK_ID}" -eq "${SLURM_ARRAY_TASK_MAX}" ]; then
  sbatch --dependency="afterok:${SLURM_ARRAY_JOB_ID}" --job-name=loadlab-merge --output=results/merged.txt \
    --wrap="loadlab merge results/tune-*.jsonl"
fi
