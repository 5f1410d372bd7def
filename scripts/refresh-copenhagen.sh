#!/usr/bin/env bash
# Refreshes the vendored Copenhagen theme (Zendesk's default Help Center theme, Apache-2.0)
# that the Zendesk simulator serves as its Help Center.
#
#   scripts/refresh-copenhagen.sh v4.50.4                      # clone the release from GitHub
#   scripts/refresh-copenhagen.sh v4.50.4 /path/to/copenhagen  # or take it from a local clone
#
# Only the built artifacts the "Submit a request" page loads are copied, byte for byte: the
# templates it renders, style.css, script.js, the ES-module bundles in assets/ (built by
# Zendesk and committed in the theme's repository), manifest.json (the settings' defaults)
# and the LICENSE. After a refresh, run `cargo xtask test --only e2e`: the widget tests run
# against exactly these files.
set -euo pipefail

tag="${1:?usage: $0 TAG [SOURCE]   (e.g. $0 v4.50.4)}"
source="${2:-https://github.com/zendesk/copenhagen_theme.git}"
dest="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/zendesk-sim/fixtures/copenhagen"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ -d "$source" ]]; then
  git -C "$source" archive --format=tar "$tag" | tar -x -C "$work"
  commit="$(git -C "$source" rev-list -n 1 "$tag")"
else
  git clone --quiet --depth 1 --branch "$tag" "$source" "$work/clone"
  commit="$(git -C "$work/clone" rev-parse HEAD)"
  mv "$work/clone"/* "$work/"
fi

files=(
  LICENSE manifest.json style.css script.js
  templates/document_head.hbs templates/header.hbs templates/footer.hbs templates/new_request_page.hbs
  assets/es-module-shims.js assets/flash-notifications-bundle.js
  assets/new-request-form-bundle.js assets/new-request-form-translations-bundle.js
  assets/shared-bundle.js assets/ticket-fields-bundle.js assets/wysiwyg-bundle.js
  settings/logo.png settings/favicon.png
)
rm -rf "$dest"
mkdir -p "$dest/templates" "$dest/assets" "$dest/settings"
for f in "${files[@]}"; do
  [[ -f "$work/$f" ]] || { echo "error: $f is missing from $tag; the theme's layout changed" >&2; exit 1; }
  cp "$work/$f" "$dest/$f"
done
version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$dest/manifest.json")"
cat > "$dest/SOURCE.md" <<MD
# Copenhagen theme $version (vendored)

Zendesk's default Help Center theme, from https://github.com/zendesk/copenhagen_theme
at tag \`$tag\` (commit \`$commit\`), under the Apache License 2.0 (\`LICENSE\`).
Unmodified copies of the files the "Submit a request" page loads; refreshed by
\`scripts/refresh-copenhagen.sh\`. The Zendesk simulator (\`zendesk-sim/src/help_center/\`)
renders the templates and serves the assets the way a Help Center does.
MD
echo "vendored Copenhagen $version ($commit) into $dest"
