#!/usr/bin/env bash
# bench/run-shared.sh - ../shared/bench/run.sh with this module: the
# apache-xapi row hands off (the default XapiForwardMode auto), the
# apache-xapi-relay row forces relay mode (keep-alive capable).
# usage: bench/run-shared.sh MODULE_SO    (env knobs: see run.sh's header)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export MOD_XAPI_FORWARD_SO=${1:?usage: bench/run-shared.sh MODULE_SO}
export XAPI_ROW_CONF=${XAPI_ROW_CONF:-'ProxyPass / "unix:@RUN@/xapi.sock|xapi://bench/"'}
export XAPI_RELAY_CONF=${XAPI_RELAY_CONF:-$'XapiForwardMode relay\nProxyPass / "unix:@RUN@/xapi.sock|xapi://bench/"'}
exec bash "${SHARED_BENCH:-$HERE/../../shared/bench}/run.sh"
