// The help text, in one place.
export const HELP = `conveyor: turn tracker issues into merged pull requests with coding agents, durably.

Usage: conveyor <command> [options]

Processes
  dev                      the whole factory on the local sandbox: Temporal dev server with
                           its Web UI, Linear and GitHub emulators with a demo, worker, gateway
  worker                   run the worker (workflows and activities) against the configured Temporal
  gateway                  run the webhook gateway (POST /webhooks/linear, /webhooks/github)

Operating
  doctor [--fix]           check this installation: config, credentials (names only), Temporal,
                           namespace and search attributes (--fix registers them), the fleet's
                           configuration, git and agent CLIs, webhook secrets, ports, disk;
                           exits non-zero on any failure
  status [ISSUE] [--all]   runs and their phases (the 50 latest; --all: every run), each repo's
                           graduation and the failure alert; with ISSUE (key like ENG-12, or
                           id), its full state
  triage ISSUE             what triage decides for the issue and why: every routing rule that
                           fired, the default repo if used, blockers, graduation (starts nothing)
  triage --all [--team K]  classify every open labelled issue: dispatchable, thin, reserved,
                           unroutable, blocked, already has a PR (a dry run; starts nothing)
  failures [--since 7d]    failed runs by class, by repo and by day, from Temporal visibility;
                           alerts when more than 20% are unknown
  graduation               per repo: factory PRs merged clean by a human so far, and which did
                           not count and why (on-green-with-review waits for graduation.cleanMerges)
  retry ISSUE              retry an escalated run, or start a blocked one again
  approve ISSUE            dispatch an escalated (thin) issue as it is
  abort ISSUE              stop a run; its slot returns and the issue is blocked
  hold ISSUE               stop one issue before its next agent start (a running agent finishes;
                           nothing else is touched); waits policies.timeouts.hold, then blocks it
  release ISSUE            lift the hold: the issue goes on where it stopped
  pause | resume           hold or release new dispatches fleet-wide
  fleet [show]             the fleet's caps and configuration fingerprint, its leases, the queue
                           of waiting issues, and whether its check of lease holders is failing
  fleet apply              make the fleet run this installation's fleet configuration (fleet and
                           repos[].slots in factory.yaml); workers with another one refuse to start
  sweep                    run the reconcile sweep now (it also runs on a schedule every 5m):
                           starts ready issues that have no run, nudges runs of open factory PRs
  canary [--team K] [--repo R] [--timeout 20m]
                           file a synthetic issue (conveyor-e2e) and follow it through the real
                           line: webhook received, triaged, agent ran, PR opened, CI green, PR
                           closed without merge, issue done; exits non-zero naming the first
                           station that fails or times out (and aborts its run, closes its PR;
                           --keep leaves them). --gateway URL: where to read the route counts
                           (default http://127.0.0.1:$CONVEYOR_GATEWAY_PORT or 8787); --append
                           TEXT adds to the issue's description. Writes .data/canary/last.json
  routes                   every route the installation serves (webhook, CLI and sweep event ×
                           outcome, and the line's endings), from the code, and which the last
                           canary and the test suite exercised

Sandbox
  sandbox reset            delete the sandbox's data (emulators' state and the dev server's history)

Options
  --profile NAME           runtime | dev | sandbox (default: $CONVEYOR_PROFILE or sandbox)
  --root DIR               where temporal.yaml and instance/ live (default: current directory)
  --port N                 gateway port (gateway; default 8787)
  --json                   machine-readable output (status, fleet, fleet apply, doctor)
  --fix                    doctor: register the namespace and missing search attributes
  --json                   machine-readable output (status, fleet, fleet apply, triage, failures, graduation,
                           canary, routes)
  -h, --help               this text

Environment
  LINEAR_API_KEY, GITHUB_TOKEN (or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID),
  LINEAR_WEBHOOK_SECRETS, GITHUB_WEBHOOK_SECRETS (comma-separated, for rotation),
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA
`;
