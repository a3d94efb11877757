#!/bin/sh
# Demo deploy script for the web artifact, run by the exec driver "web-deploy".
# Conveyor passes the deployment in CONVEYOR_* environment variables.
set -eu
: "${CONVEYOR_ENVIRONMENT:?CONVEYOR_ENVIRONMENT is not set; run this script through Conveyor}"
if [ "${CONVEYOR_ACTION:-deploy}" = "rollback" ]; then
  echo "rolling ${CONVEYOR_ARTIFACT:-web} in ${CONVEYOR_ENVIRONMENT} back to ${CONVEYOR_PREVIOUS:-nothing}"
  echo "done"
  exit 0
fi
echo "deploying ${CONVEYOR_ARTIFACT:-web} at ${CONVEYOR_SHA:-unknown} to ${CONVEYOR_ENVIRONMENT} (${CONVEYOR_PERCENT:-100}%)"
# The demo makes one rollout fail by creating the file named in DEMO_FAIL_FILE.
if [ "${CONVEYOR_ACTION:-deploy}" = "deploy" ] && [ -n "${DEMO_FAIL_FILE:-}" ] && [ -f "$DEMO_FAIL_FILE" ]; then
  echo "health check of web ${CONVEYOR_SHA:-unknown} failed: 5 of 5 probes returned 503" >&2
  exit 1
fi
echo "done"
