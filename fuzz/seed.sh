#!/usr/bin/env bash
# Seeds the fuzz corpus with the media fixtures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p corpus/sniff_decode
find ../tests/fixtures/media -type f ! -name '*.py' ! -name '*.md' -exec cp {} corpus/sniff_decode/ \;
echo "seeded $(ls corpus/sniff_decode | wc -l) files"
