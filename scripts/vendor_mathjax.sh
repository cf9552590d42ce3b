#!/usr/bin/env bash
# Vendor the part of MathJax 3 that the website needs, so that its equations render
# without internet (course laptops, CI) instead of loading MathJax from a CDN.
#
#   bash scripts/vendor_mathjax.sh          # needs npm; run once, commit _vendor/
#
# Result: _vendor/_static/mathjax/ with the combined component tex-mml-chtml.js (what
# Sphinx loads from its CDN by default), the CHTML web fonts it loads on demand, the
# TeX extensions its autoloader may fetch (\boldsymbol, \cancel, ...) and the licence.
# _config.yml copies _vendor/ into the built site (html_extra_path, so it lands in
# _build/html/_static/mathjax/) and points mathjax_path at it. It is not put in
# _static/ itself because Jupyter Book adds every .js file under _static/ to every page.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=3.2.2
DEST=_vendor/_static/mathjax
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$VERSION" >/dev/null && tar xzf "mathjax-$VERSION.tgz")
src=$tmp/package/es5
rm -rf "$DEST"
mkdir -p "$DEST/output/chtml/fonts" "$DEST/input/tex"
cp "$src/tex-mml-chtml.js" "$DEST/"
cp -r "$src/output/chtml/fonts/woff-v2" "$DEST/output/chtml/fonts/"
cp -r "$src/input/tex/extensions" "$DEST/input/tex/"
cp "$tmp/package/LICENSE" "$DEST/LICENSE"
echo "MathJax $VERSION (npm package mathjax@$VERSION, es5 build); see scripts/vendor_mathjax.sh" > "$DEST/VERSION"
du -sh "$DEST"
