#!/usr/bin/env bash
# Deploys force-app to the scratch org.
source "$(dirname "$0")/common.sh"
"$SF" project deploy start --source-dir force-app --target-org "$ORG_ALIAS" --wait 30
