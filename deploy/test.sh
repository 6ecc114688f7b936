#!/usr/bin/env bash
# The whole check a change must pass: set-up, formatting, lints, every test.
# Tests create and drop their own databases and broker names, so this is safe to repeat.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

if command -v docker-compose >/dev/null || apt_install docker-compose >/dev/null 2>&1; then
  log "docker-compose config"
  SKLAD_RABBITMQ_PASSWORD=validate docker-compose -f docker-compose.yml --profile demo config -q
else
  log "docker-compose unavailable: compose file not validated"
fi

# The contract test's fuzzer, from PyPI, in a virtualenv of its own under target/.
ensure_schemathesis() {
  local venv="$PWD/target/tools/schemathesis" version="4.32.5"
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    command -v python3 >/dev/null || apt_install python3
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      apt_install python3-venv
      python3 -m venv "$venv"
    fi
    log "installing schemathesis $version from PyPI"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version"
  fi
  export SKLAD_SCHEMATHESIS="$venv/bin/schemathesis"
}
ensure_schemathesis

# The console's browser tests drive Debian's headless Chromium through its chromedriver,
# and Debian's Firefox ESR through geckodriver (built from crates.io once, into ~/.cargo/bin).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/firefox-esr ]; then
  apt_install chromium chromium-driver firefox-esr
fi
if ! command -v geckodriver >/dev/null && [ ! -x "$HOME/.cargo/bin/geckodriver" ]; then
  log "installing geckodriver from crates.io"
  cargo install geckodriver --locked --version 0.37.1
fi

# crates/db/src/schema.rs must be what `diesel print-schema` makes of the migrations (a test
# compares them): the diesel CLI, built from crates.io once into ~/.cargo/bin, links libpq.
diesel_version="2.3.14"
diesel_bin="$(command -v diesel || echo "$HOME/.cargo/bin/diesel")"
if ! "$diesel_bin" --version 2>/dev/null | grep -q "$diesel_version"; then
  [ -e /usr/include/postgresql/libpq-fe.h ] || apt_install libpq-dev
  log "installing the diesel CLI $diesel_version from crates.io"
  cargo install diesel_cli --locked --version "$diesel_version" --no-default-features --features postgres
  diesel_bin="$HOME/.cargo/bin/diesel"
fi
export SKLAD_DIESEL="$diesel_bin"

# One test runs PostgreSQL's messages in Ukrainian (errors must be told apart by SQLSTATE,
# not by their words): the server needs that locale. Outside the archive, so a server that
# is already running finds it without a restart.
if ! locale -a 2>/dev/null | grep -qx 'uk_UA.utf8'; then
  [ -e /usr/share/i18n/locales/uk_UA ] || apt_install locales
  log "generating the uk_UA.UTF-8 locale"
  as_root localedef --no-archive -i uk_UA -f UTF-8 uk_UA.UTF-8
fi

log "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
# Two processes of every role over a 3-node RabbitMQ cluster, with processes killed and a
# broker node stopped mid-flood (about two minutes).
log "the cluster drill"
bash deploy/drill.sh cluster
log "all checks passed"
