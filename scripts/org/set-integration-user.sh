#!/usr/bin/env bash
# Sets Referral_Sync_Setting.Default.Integration_Username__c, the user whose writes the trigger
# skips. Custom metadata records cannot be written with DML or the REST API, so the record is
# deployed in Metadata API format from a temporary directory. A deploy replaces the whole record, so
# it also writes the inbox's Accepted and Declined stages, from stages.active and stages.lost in
# config/mapping.json.
# Usage: set-integration-user.sh <integration-username>
source "$(dirname "$0")/common.sh"
username="${1:?usage: set-integration-user.sh <integration-username>}"
if [[ ! "$username" =~ ^[A-Za-z0-9._%+@-]+$ ]]; then
  echo "not a Salesforce username: $username" >&2
  exit 1
fi
stage() {
  local value
  value="$(node -e 'const m = JSON.parse(require("fs").readFileSync("config/mapping.json", "utf8")); process.stdout.write(String(m.stages[process.argv[1]] ?? ""))' "$1")"
  if [[ -z "$value" || "$value" =~ [\<\>\&] ]]; then
    echo "config/mapping.json: stages.$1 must be a stage name without <, > or &" >&2
    exit 1
  fi
  printf '%s' "$value"
}
accepted_stage="$(stage active)"
declined_stage="$(stage lost)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/customMetadata"
cat > "$dir/package.xml" <<XML
<?xml version="1.0" encoding="UTF-8" ?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types>
        <members>Referral_Sync_Setting.Default</members>
        <name>CustomMetadata</name>
    </types>
    <version>62.0</version>
</Package>
XML
cat > "$dir/customMetadata/Referral_Sync_Setting.Default.md" <<XML
<?xml version="1.0" encoding="UTF-8" ?>
<CustomMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
    <label>Default</label>
    <protected>false</protected>
    <values>
        <field>Accepted_Stage__c</field>
        <value xsi:type="xsd:string">${accepted_stage}</value>
    </values>
    <values>
        <field>Declined_Stage__c</field>
        <value xsi:type="xsd:string">${declined_stage}</value>
    </values>
    <values>
        <field>Integration_Username__c</field>
        <value xsi:type="xsd:string">${username}</value>
    </values>
</CustomMetadata>
XML
"$SF" project deploy start --metadata-dir "$dir" --target-org "$ORG_ALIAS" --wait 15
