#!/usr/bin/env bash
# Creates a scratch org from config/project-scratch-def.json with the default Dev Hub.
# Usage: create-scratch-org.sh [--no-namespace] [days]   (ORG_ALIAS defaults to cosell-scratch)
# The package namespace comes from sfdx-project.json; --no-namespace builds an unnamespaced org
# from a namespaced project.
source "$(dirname "$0")/common.sh"
namespace_flag=()
if [[ "${1:-}" == "--no-namespace" ]]; then
  namespace_flag=(--no-namespace)
  shift
fi
"$SF" org create scratch --definition-file config/project-scratch-def.json --alias "$ORG_ALIAS" \
  --duration-days "${1:-7}" --set-default --wait 15 "${namespace_flag[@]}"
