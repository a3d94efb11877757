#!/bin/sh
# Demo stand-in for "dbt build", run by the dbt driver: prints what it would build.
set -eu
echo "dbt build --target ${CONVEYOR_ENVIRONMENT:-dev} $*"
echo "done"
