#!/usr/bin/env bash
# The photo pipeline against libvips, on the same 12-megapixel JPEG (not part of the tests).
#
#   bench/media.sh [path/to/hearth]   (default: the static release binary)
#
# Makes a 4000 × 3000 photo-like JPEG (gradients, shapes and grain, quality 90), then, 5 runs
# each, times and takes the peak RSS of:
#   - `hearth bench-media`: the upload check (a full decode) plus the processing job (decode,
#     orientation, thumb 256² crop, card 640, full 1600, lossy WebP q80, blurhash);
#   - `vipsthumbnail` making the same three sizes as WebP q80 (three runs of the tool, as a
#     script would: each decodes with shrink-on-load).
# Needs: python3 with Pillow (pip install Pillow), vipsthumbnail (apt-get install libvips-tools),
# GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-target/x86_64-unknown-linux-gnu/release/hearth}"
[ -x "$bin" ] || { echo "no binary at $bin (run packaging/build-static.sh)" >&2; exit 1; }
command -v vipsthumbnail >/dev/null || { echo "vipsthumbnail missing: apt-get install libvips-tools" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install time" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-media.XXXXXX")"
trap 'rm -rf "$work"' EXIT
photo="$work/photo.jpg"
python3 - "$photo" <<'PY'
import random, sys
from PIL import Image, ImageDraw, ImageFilter
random.seed(7)
w, h = 4000, 3000
img = Image.linear_gradient("L").resize((w, h)).convert("RGB")
r = Image.radial_gradient("L").resize((w, h))
img = Image.merge("RGB", (img.getchannel(0), r, img.getchannel(0).rotate(180)))
d = ImageDraw.Draw(img)
for _ in range(400):
    x, y = random.randrange(w), random.randrange(h)
    s = random.randrange(20, 400)
    d.ellipse((x, y, x + s, y + s), fill=tuple(random.randrange(256) for _ in range(3)))
img = img.filter(ImageFilter.GaussianBlur(2))
noise = Image.effect_noise((w, h), 24).convert("RGB")
img = Image.blend(img, noise, 0.12)
img.save(sys.argv[1], quality=90)
PY
echo "input: $(python3 -c "from PIL import Image; im=Image.open('$photo'); print(im.size)") $(stat -c %s "$photo") bytes"

# Prints "seconds peak_kib" for a command.
measure() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1; }

vips_all() {
  vipsthumbnail "$photo" --size 1600 -o "$work/full.webp[Q=80]"
  vipsthumbnail "$photo" --size 640 -o "$work/card.webp[Q=80]"
  vipsthumbnail "$photo" --size 256x256 --smartcrop centre -o "$work/thumb.webp[Q=80]"
}
export -f vips_all
export photo work

"$bin" bench-media "$photo"
printf '\n| run | hearth s | hearth peak MiB | vipsthumbnail ×3 s | vips peak MiB |\n|---|---|---|---|---|\n'
for run in 1 2 3 4 5; do
  read -r hs hk < <(measure "$bin" bench-media "$photo")
  # Peak of the three vips processes: time each, sum the seconds.
  vs=0; vk=0
  for args in "--size 1600 -o $work/full.webp[Q=80]" "--size 640 -o $work/card.webp[Q=80]" "--size 256x256 --smartcrop centre -o $work/thumb.webp[Q=80]"; do
    # shellcheck disable=SC2086
    read -r s k < <(measure vipsthumbnail "$photo" $args)
    vs=$(python3 -c "print(round($vs + $s, 2))"); [ "$k" -gt "$vk" ] && vk=$k
  done
  printf '| %s | %s | %s | %s | %s |\n' "$run" "$hs" "$((hk / 1024))" "$vs" "$((vk / 1024))"
done
ls -l "$work"/*.webp | awk '{print "vips " $NF ": " $5 " bytes"}'
