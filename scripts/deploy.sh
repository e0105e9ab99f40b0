#!/usr/bin/env bash
# Deploy Conveyor into a directory: build, sync the release into it (deleting what the release
# no longer has, but never the installation's instance/ or its .data/), install the production
# dependencies there, and restart the services.
#
#   scripts/deploy.sh TARGET [--no-build] [--no-install] [--no-restart] [--install-units] [--canary]
#
#   --no-build       ship the dist/ already built (npm run build)
#   --no-install     skip npm ci --omit=dev in TARGET
#   --no-restart     skip systemctl restart (also CONVEYOR_DEPLOY_NO_RESTART=1)
#   --install-units  copy deploy/systemd/*.service to /etc/systemd/system (CONVEYOR_SYSTEMD_DIR)
#                    with TARGET as their WorkingDirectory, then daemon-reload and enable them;
#                    where libjemalloc.so.2 is not installed, the worker's unit goes without its
#                    preload (and says so)
#   --canary         after the restart, run `conveyor canary` from TARGET (with the services'
#                    environment file, CONVEYOR_ENV_FILE, default /etc/conveyor/conveyor.env, and
#                    CONVEYOR_CANARY_ARGS, e.g. "--team ENG --timeout 30m"); when it fails, say
#                    which release to roll back to and how, and exit 1
# CONVEYOR_SERVICES lists the units to restart (default: conveyor-worker conveyor-gateway).
# Each release records what it is in TARGET/RELEASE; the one it replaces is kept in
# TARGET/.data/releases/previous/ for a rollback.
set -euo pipefail

say() { printf '[deploy] %s\n' "$*"; }
fail() { printf '[deploy] %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=""
build=1 install=1 restart=1 units=0 canary=0
[[ "${CONVEYOR_DEPLOY_NO_RESTART:-}" == 1 ]] && restart=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --no-install) install=0 ;;
    --no-restart) restart=0 ;;
    --install-units) units=1 ;;
    --canary) canary=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) fail "unknown option $arg (see --help)" ;;
    *) [[ -z "$target" ]] || fail "one TARGET only (got $target and $arg)"; target=$arg ;;
  esac
done
[[ -n "$target" ]] || fail "usage: scripts/deploy.sh TARGET [--no-build] [--no-install] [--no-restart] [--install-units] [--canary]"
command -v rsync >/dev/null || fail "rsync is not installed: apt-get install rsync"
mkdir -p "$target"
target=$(cd "$target" && pwd)
[[ "$target" != "$repo" ]] || fail "TARGET is this checkout: deploy into another directory"

if (( build )); then
  say "building (npm run build)"
  # From scratch: tsc never deletes the output of a source file that is gone.
  rm -rf "$repo/dist"
  (cd "$repo" && npm run build --silent)
fi
[[ -f "$repo/dist/cli/main.js" && -f "$repo/dist/workflow-bundle.js" ]] || fail "no build in $repo/dist: run npm run build (or drop --no-build)"

# The release, staged: exactly what a host runs. No src/, so the worker loads the prebuilt bundle.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for path in dist bin deploy instance.example package.json package-lock.json temporal.yaml README.md scripts/demo-agent.mjs scripts/deploy.sh; do
  [[ -e "$repo/$path" ]] || fail "$path is missing from $repo"
  mkdir -p "$stage/$(dirname "$path")"
  cp -R "$repo/$path" "$stage/$path"
done

# What this release is, for the next deploy's rollback note.
commit=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
[[ -z "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]] || commit="$commit (with uncommitted changes)"
printf 'commit=%s\ndeployed=%s\nsource=%s\n' "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$repo" > "$stage/RELEASE"

# The release being replaced is kept whole (without the installation's own files) to roll back to.
previous=""
if [[ -f "$target/RELEASE" ]]; then
  previous=$(sed -n 's/^commit=//p' "$target/RELEASE")
  say "keeping the release being replaced (commit $previous) in $target/.data/releases/previous"
  mkdir -p "$target/.data/releases/previous"
  rsync -a --delete --exclude=/instance/ --exclude=/.data/ --exclude=/node_modules/ "$target/" "$target/.data/releases/previous/"
fi

say "syncing to $target (instance/, .data/ and node_modules/ are kept)"
# Excluded paths are neither copied nor deleted: the installation's config, its state, and the
# dependencies npm ci replaces below.
rsync -a --delete --exclude=/instance/ --exclude=/.data/ --exclude=/node_modules/ "$stage/" "$target/"

if (( install )); then
  say "installing production dependencies (npm ci --omit=dev)"
  (cd "$target" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
fi

if (( units )); then
  unit_dir=${CONVEYOR_SYSTEMD_DIR:-/etc/systemd/system}
  say "installing the systemd units into $unit_dir with WorkingDirectory=$target"
  # The worker's unit preloads jemalloc (bench/churn/README.md says why). Without the library
  # ld.so would print an error for the worker and every program it starts, and the worker would
  # run on glibc's malloc anyway: leave the line out and say how to get it.
  drop_preload=()
  # Read whole first: under pipefail, grep -q quitting early would fail the pipe with SIGPIPE.
  libraries=$(PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null || true)
  if ! grep -q 'libjemalloc\.so\.2 ' <<<"$libraries"; then
    say "libjemalloc.so.2 is not installed: conveyor-worker runs on glibc's malloc, whose memory creeps up over many runs; apt-get install libjemalloc2, then deploy again with --install-units"
    drop_preload=(-e '/^Environment=LD_PRELOAD=/d')
  fi
  for unit in "$repo"/deploy/systemd/*.service; do
    sed -e "s#/opt/conveyor#$target#g" "${drop_preload[@]}" "$unit" > "$unit_dir/$(basename "$unit")"
  done
  systemctl daemon-reload
  systemctl enable conveyor-worker.service conveyor-gateway.service
fi

if (( restart )); then
  services=${CONVEYOR_SERVICES:-conveyor-worker conveyor-gateway}
  say "restarting $services (the worker drains first: see worker.shutdownGraceTime)"
  # shellcheck disable=SC2086
  systemctl restart $services
  say "check: systemctl status $services; journalctl -u conveyor-worker -f; node $target/bin/conveyor.js doctor --profile runtime --root $target"
else
  say "restart skipped"
fi
say "deployed $(node -p "require('$target/package.json').version") (commit $commit) to $target"

if (( canary )); then
  env_file=${CONVEYOR_ENV_FILE:-/etc/conveyor/conveyor.env}
  say "running the canary: conveyor canary ${CONVEYOR_CANARY_ARGS:-}"
  # The services' environment (secrets, TEMPORAL_*), read as systemd reads it, in a subshell.
  # shellcheck disable=SC2086
  if (
    if [[ -r "$env_file" ]]; then set -a; . "$env_file"; set +a; fi
    cd "$target" && node bin/conveyor.js canary --root "$target" --profile "${CONVEYOR_PROFILE:-runtime}" ${CONVEYOR_CANARY_ARGS:-}
  ); then
    say "canary passed: the release works end to end"
  else
    services=${CONVEYOR_SERVICES:-conveyor-worker conveyor-gateway}
    say "CANARY FAILED: release $commit is live in $target but did not carry a synthetic issue through the line (the station and what to check are above; the record is $target/.data/canary/last.json)"
    if [[ -n "$previous" ]]; then
      say "roll back to the previous release, commit $previous, kept in $target/.data/releases/previous:"
      say "  rsync -a --delete --exclude=/instance/ --exclude=/.data/ --exclude=/node_modules/ $target/.data/releases/previous/ $target/ && (cd $target && npm ci --omit=dev) && systemctl restart $services"
      say "  (or from a checkout: git checkout $previous && scripts/deploy.sh $target --canary)"
    else
      say "no earlier release was recorded in $target/RELEASE, so there is nothing to roll back to: stop the services (systemctl stop $services) until the canary passes"
    fi
    exit 1
  fi
fi
