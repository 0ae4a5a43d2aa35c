#!/usr/bin/env bash
# Installs the BigQuery and Cloud Storage emulators the tests start (test infrastructure only,
# ADR 0026): bqemulator (PyPI, DuckDB-backed) in a virtual environment with DuckDB's spatial
# extension from PyPI, and fake-gcs-server (Go module proxy). Idempotent: a second run with the
# same pins does nothing. The harness (test/emulators/harness.ts) finds them in the same folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="${ALMANAC_EMULATORS_DIR:-$root/.cache/emulators}"
requirements="$here/bigquery-emulator.requirements.txt"
fake_gcs_version="v1.56.1"
export PATH="$PATH:/usr/local/go/bin"

for tool in python3 go; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-emulators: $tool is needed (python3 with venv for the BigQuery emulator, go for" \
      "fake-gcs-server) and is not on PATH" >&2
    exit 1
  fi
done
mkdir -p "$dir/bin"

stamp="$dir/bigquery.stamp"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "install-emulators: bqemulator into $dir/bigquery (pip, about a minute)"
  rm -rf "$dir/bigquery"
  python3 -m venv "$dir/bigquery"
  "$dir/bigquery/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  # bqemulator runs `INSTALL spatial` at start; DuckDB takes an installed extension from
  # $HOME/.duckdb instead of downloading it (the download site is not reachable here), so the
  # emulator runs with a HOME of its own that holds the extension from the PyPI wheel.
  ext_version="$("$dir/bigquery/bin/python" -c 'import duckdb; print("v" + duckdb.__version__)')"
  ext_src="$("$dir/bigquery/bin/python" -c 'import duckdb_extension_spatial, os; print(os.path.dirname(duckdb_extension_spatial.__file__))')/extensions/$ext_version/spatial.duckdb_extension"
  ext_dir="$dir/bigquery/home/.duckdb/extensions/$ext_version/linux_amd64"
  mkdir -p "$ext_dir"
  cp "$ext_src" "$ext_dir/"
  echo "$want" > "$stamp"
fi
"$dir/bigquery/bin/bqemulator" version

if [ "$(cat "$dir/fake-gcs-server.stamp" 2>/dev/null)" != "$fake_gcs_version" ]; then
  echo "install-emulators: fake-gcs-server $fake_gcs_version into $dir/bin (go install, about two minutes)"
  GOBIN="$dir/bin" GOFLAGS=-mod=mod go install "github.com/fsouza/fake-gcs-server@$fake_gcs_version"
  echo "$fake_gcs_version" > "$dir/fake-gcs-server.stamp"
fi
echo "install-emulators: fake-gcs-server $fake_gcs_version at $dir/bin/fake-gcs-server"
