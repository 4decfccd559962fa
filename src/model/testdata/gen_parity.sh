#!/usr/bin/env bash
# Regenerates the ESCU parity vectors from the reference scorer (the oracle):
#   parity_input.jsonl  -> parity_expected.tsv (score repr, length, gate, alert, features)
# Needs ../shared beside the repository and python3.
set -euo pipefail
cd "$(dirname "$0")"
ref=../../../../shared/reference/escu/reference_score.py
python3 gen_parity.py
python3 "$ref" --json --details < parity_input.jsonl > parity_expected.tsv
wc -l parity_input.jsonl parity_expected.tsv
