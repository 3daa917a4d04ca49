#!/usr/bin/env bash
# Whole setup for a Dev Hub admin: scratch org, deploy, permission sets, integration user, tests.
# Usage: setup.sh <integration-username> [--no-namespace]
# The integration user must exist in the org (for a scratch org: sf org create user).
source "$(dirname "$0")/common.sh"
integration_user="${1:?usage: setup.sh <integration-username> [--no-namespace]}"
here="$(dirname "$0")"
"$here/create-scratch-org.sh" ${2:+"$2"}
"$here/deploy.sh"
"$here/assign-permsets.sh"
"$here/set-integration-user.sh" "$integration_user"
"$here/run-apex-tests.sh"
echo "Next: create $integration_user (sf org create user), then scripts/org/assign-permsets.sh $integration_user."
echo "Activate 'Co-sell Opportunity Record Page' in Lightning App Builder to show the referral panel."
