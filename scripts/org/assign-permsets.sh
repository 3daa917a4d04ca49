#!/usr/bin/env bash
# Gives the org's admin user the seller and admin permission sets (the admin one reads the Referral
# Sync Log), and the integration user (if named) the integration permission set.
# Usage: assign-permsets.sh [integration-username]
source "$(dirname "$0")/common.sh"
"$SF" org assign permset --name Cosell_Seller --target-org "$ORG_ALIAS"
"$SF" org assign permset --name Cosell_Admin --target-org "$ORG_ALIAS"
if [[ -n "${1:-}" ]]; then
  "$SF" org assign permset --name Cosell_Integration_User --on-behalf-of "$1" --target-org "$ORG_ALIAS"
fi
