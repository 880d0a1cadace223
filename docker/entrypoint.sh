#!/bin/sh
# The container's entrypoint, and a plain script: the test suite runs it
# directly on Debian (test/docker-entrypoint.test.ts) to prove it starts the
# stack and serves /healthz. Without REDIS_URL / MYSQL_URL the server starts
# redis-server and mariadbd itself, with their data under SECKILL_DATA_DIR
# (the /data volume in the image). Arguments go to `seckill serve`
# (for example --demo).
set -eu
: "${SECKILL_DATA_DIR:=/data}"
export SECKILL_DATA_DIR
app_dir=$(cd "$(dirname "$0")/.." && pwd)
exec node "$app_dir/dist/src/cli.js" serve "$@"
