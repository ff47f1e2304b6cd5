"""Summarises a schemathesis run of `.ci/schemathesis` and decides whether it passed.

Reads the run's NDJSON event report and the OpenAPI document the run tested, prints per
route (method and path) the test cases sent, the 2xx, 4xx and 5xx answers and the check
failures, and exits non-zero when:

- any answer was a server error (5xx), or any check failed (schema, status code, content
  type, headers, negative data accepted, ...), or the run itself errored;
- a route of the document was never tested;
- a write route (POST, DELETE) never answered 2xx, so its success path went untested,
  unless `NO_2XX_EXPECTED` names it with the reason.

It also tallies the refusals of schema-valid requests the hooks accepted (their
`filter_failure` writes them to ACCEPTED_LOG), by problem type, rule and field.

Usage: schemathesis_summary.py OPENAPI_JSON NDJSON_REPORT [ACCEPTED_LOG]
"""

from __future__ import annotations

import collections
import json
import os
import re
import sys

# Write routes that by design cannot answer 2xx to generated data, each with the reason.
# Empty: the hooks (.ci/schemathesis_hooks.py) steer part of every write route's
# requests at seeded data, and sign what needs a signature.
NO_2XX_EXPECTED: dict[str, str] = {}

# Routes schemathesis does not test, each with the reason.
NOT_TESTED: dict[str, str] = {
    # Schemathesis (4.32.5) leaves the operation that serves the document out of a run
    # (40 of 41 operations) unless it is selected by name. Every run loads the document
    # from it, and tests/integration/openapi.rs checks it against its snapshot.
    "GET /openapi.json": "serves the document schemathesis loads",
}

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def spec_routes(openapi: dict) -> list[str]:
    routes = []
    for path, item in openapi["paths"].items():
        for method in item:
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                routes.append(f"{method.upper()} {path}")
    return routes


def print_accepted(accepted_path: str) -> None:
    if not os.path.exists(accepted_path):
        print("accepted refusals of schema-valid requests: none")
        return
    tally = collections.Counter()
    with open(accepted_path, encoding="utf-8") as f:
        for line in f:
            refusal = json.loads(line)
            kind = str(refusal["type"]).removeprefix("urn:pennytrail:problem:")
            field = str(refusal.get("field") or "-")
            # List items differ only by index: `donations[3].fee` counts as `donations[].fee`.
            field = re.sub(r"\[\d+\]", "[]", field)
            tally[(refusal["status"], kind, refusal.get("rule") or "-", field)] += 1
    print("accepted refusals of schema-valid requests (status, type, rule, field): count")
    for (status, kind, rule, field), count in sorted(tally.items()):
        print(f"  {status} {kind} {rule} {field}: {count}")


def main(openapi_path: str, ndjson_path: str, accepted_path: str | None = None) -> int:
    with open(openapi_path, encoding="utf-8") as f:
        routes = spec_routes(json.load(f))
    if not os.path.exists(ndjson_path):
        print(f"FAIL no report at {ndjson_path}: the run did not start")
        return 1
    cases = collections.Counter()
    by_class = collections.defaultdict(collections.Counter)
    failures = collections.defaultdict(collections.Counter)
    accepted = collections.Counter()
    errors = []
    finished = False
    with open(ndjson_path, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            (name, body), = event.items()
            if name == "EngineFinished":
                finished = True
            if name == "NonFatalError" or name == "FatalError":
                errors.append(json.dumps(body)[:500])
            if name != "ScenarioFinished":
                continue
            recorder = body.get("recorder") or {}
            recorded = recorder.get("cases", {})
            for case_id, interaction in recorder.get("interactions", {}).items():
                case = recorded.get(case_id, {}).get("value")
                if case is None or interaction.get("response") is None:
                    continue
                route = f"{case['method'].upper()} {case['path']}"
                status = interaction["response"]["status_code"]
                cases[route] += 1
                by_class[route][f"{status // 100}xx"] += 1
            for case_id, count in recorder.get("filtered_failures", {}).items():
                case = recorded.get(case_id, {}).get("value")
                route = f"{case['method'].upper()} {case['path']}" if case else recorder["label"]
                accepted[route] += count
            for case_id, checks in recorder.get("checks", {}).items():
                case = recorded.get(case_id, {}).get("value")
                route = f"{case['method'].upper()} {case['path']}" if case else recorder["label"]
                for check in checks:
                    if check["status"] == "failure":
                        failures[route][check["name"]] += 1

    problems = []
    width = max(len(r) for r in routes)
    # `accepted`: refusals of schema-valid requests for a reason the schema cannot
    # express, which the hooks' `filter_failure` accepts (STATE_DEPENDENT_REFUSALS).
    print(
        f"{'route':<{width}}  {'cases':>6} {'2xx':>5} {'4xx':>5} {'5xx':>4} {'accepted':>8}"
        "  failed checks"
    )
    for route in routes:
        counts = by_class[route]
        failed = ", ".join(f"{name} x{n}" for name, n in sorted(failures[route].items()))
        print(
            f"{route:<{width}}  {cases[route]:>6} {counts['2xx']:>5} {counts['4xx']:>5}"
            f" {counts['5xx']:>4} {accepted[route]:>8}  {failed or '-'}"
        )
        method = route.split(" ", 1)[0]
        if cases[route] == 0 and route not in NOT_TESTED:
            problems.append(f"{route}: never tested")
        if counts["5xx"]:
            problems.append(f"{route}: {counts['5xx']} server errors")
        if failures[route]:
            problems.append(f"{route}: failed checks: {failed}")
        if method in WRITE_METHODS and counts["2xx"] == 0 and route not in NO_2XX_EXPECTED:
            problems.append(f"{route}: no 2xx answer, so its success path went untested")
    # Schemathesis also sends methods a path does not have (405 expected): one line.
    others = sorted(set(cases) - set(routes))
    other = collections.Counter()
    for route in others:
        other.update(by_class[route])
        if by_class[route]["5xx"]:
            problems.append(f"{route}: {by_class[route]['5xx']} server errors")
        if failures[route]:
            problems.append(f"{route}: failed checks: {dict(failures[route])}")
    label = "(methods the paths do not have)"
    print(
        f"{label:<{width}}  {sum(cases[r] for r in others):>6} {other['2xx']:>5}"
        f" {other['4xx']:>5} {other['5xx']:>4}"
    )
    if accepted_path is not None:
        print_accepted(accepted_path)
    total = sum(cases.values())
    total_2xx = sum(c["2xx"] for c in by_class.values())
    print(f"total: {total} cases, {total_2xx} answered 2xx, over {len(routes)} routes")
    if not finished:
        problems.append("the run did not finish")
    problems.extend(f"run error: {e}" for e in errors)
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        return 1
    print("OK: no server errors, no check failures, every write route answered 2xx")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
