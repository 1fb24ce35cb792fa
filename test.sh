#!/usr/bin/env bash
# Runs every test suite — .NET (xunit: engine, HTTP integration on SQLite and PostgreSQL, topology, benchmark smoke),
# ESLint over the web UI's TypeScript (one check: any problem fails it), Vitest (web components) and Playwright (real
# Chromium against the real server) — and ends with one line:
# "N passed, M failed". Exits non-zero if any test failed or any suite could not run.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
results="$(pwd)/TestResults"
rm -rf "$results" && mkdir -p "$results"
status=0

echo "==> dotnet build (Release)"
dotnet build Parley.slnx -c Release -warnaserror || status=1

echo "==> dotnet test"
dotnet test Parley.slnx -c Release --no-build --results-directory "$results/dotnet" \
  --logger "trx" --logger "console;verbosity=normal" || status=1

echo "==> eslint"
(cd src/Parley.Web && npx eslint . --format json --output-file "$results/eslint.json") || status=1

echo "==> vitest"
(cd src/Parley.Web && npx vitest run --reporter=default --reporter=json --outputFile="$results/vitest.json") || status=1

echo "==> playwright"
(cd src/Parley.Web && PARLEY_E2E_SKIP_BUILD=1 PLAYWRIGHT_JSON_OUTPUT_NAME="$results/playwright.json" npx playwright test --reporter=list,json) || status=1

python3 - "$results" <<'PY' || status=1
import glob, json, os, sys, xml.etree.ElementTree as ET
root = sys.argv[1]
passed = failed = 0
suites = []
for trx in glob.glob(os.path.join(root, "dotnet", "**", "*.trx"), recursive=True):
    counters = ET.parse(trx).getroot().find(".//{*}Counters")
    p, f = int(counters.get("passed", 0)), int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0))
    passed += p; failed += f; suites.append((os.path.basename(trx), p, f))
try:
    files = json.load(open(os.path.join(root, "eslint.json")))
    for f in files:
        for m in f["messages"]:
            print(f"eslint: {os.path.relpath(f['filePath'])}:{m.get('line', 0)}: {m['message']} ({m.get('ruleId')})")
    problems = sum(f["errorCount"] + f["warningCount"] for f in files)
    passed += problems == 0; failed += problems > 0
    suites.append((f"eslint ({problems} problems)", int(problems == 0), int(problems > 0)))
except (OSError, ValueError, KeyError, TypeError):
    print("eslint: no results"); failed += 1
try:
    v = json.load(open(os.path.join(root, "vitest.json")))
    passed += v["numPassedTests"]; failed += v["numFailedTests"]; suites.append(("vitest", v["numPassedTests"], v["numFailedTests"]))
except (OSError, ValueError, KeyError):
    print("vitest: no results"); failed += 1
try:
    s = json.load(open(os.path.join(root, "playwright.json")))["stats"]
    passed += s["expected"] + s.get("flaky", 0); failed += s["unexpected"]
    suites.append(("playwright", s["expected"] + s.get("flaky", 0), s["unexpected"]))
except (OSError, ValueError, KeyError):
    print("playwright: no results"); failed += 1
for name, p, f in suites:
    print(f"  {name}: {p} passed, {f} failed")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY
exit $status
