#!/bin/sh
# Makes the app's icons in public/ from the logo's SVGs: public/favicon.svg
# (the mark, rounded), icons/maskable.svg (the mark full-bleed, its Z well
# inside the maskable safe zone) and icons/og.svg (the link preview).
# Needs rsvg-convert (librsvg2-bin) and ImageMagick's convert (imagemagick).
# Run from client/: sh scripts/icons.sh; commit the PNGs and the ICO.
set -eu
out=public
rsvg-convert -w 192 -h 192 "$out/favicon.svg" -o "$out/icon-192.png"
rsvg-convert -w 512 -h 512 "$out/favicon.svg" -o "$out/icon-512.png"
rsvg-convert -w 512 -h 512 icons/maskable.svg -o "$out/icon-maskable-512.png"
rsvg-convert -w 180 -h 180 icons/maskable.svg -o "$out/apple-touch-icon.png"
rsvg-convert -w 1200 -h 630 icons/og.svg -o "$out/og-image.png"
tmp=$(mktemp -d)
for size in 16 32 48; do rsvg-convert -w $size -h $size "$out/favicon.svg" -o "$tmp/$size.png"; done
/usr/bin/convert "$tmp/16.png" "$tmp/32.png" "$tmp/48.png" "$out/favicon.ico"
rm -r "$tmp"
