#!/usr/bin/env bash
# Runs the package's Apex tests in the scratch org with code coverage.
source "$(dirname "$0")/common.sh"
"$SF" apex run test --test-level RunLocalTests --code-coverage --result-format human \
  --target-org "$ORG_ALIAS" --wait 30
