# Sourced by the other scripts: strict mode, an offline-quiet sf CLI, and the project root.
set -euo pipefail
export SF_DISABLE_TELEMETRY=true
export SF_SKIP_NEW_VERSION_CHECK=true
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SF="${SF:-sf}"
ORG_ALIAS="${ORG_ALIAS:-cosell-scratch}"
cd "$ROOT"
