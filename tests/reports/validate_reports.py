#!/usr/bin/env python3
"""Validates real report.json files against schemas/report.schema.json with
python3-jsonschema (a validator that is not ours).

Runs `faultline run` twice into a temporary folder: a failing run (a split
brain nobody expected) and a passing run of a library scenario with
--keep-passing (resync_from_lagging_replica: its expected violations found).
Every report.json written must validate; and a report with a field of the wrong
type must not (the validator is live, so the test can fail).

usage: validate_reports.py FAULTLINE SOURCE_DIR
"""
import copy
import json
import pathlib
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    sys.exit("validate_reports: python3-jsonschema is missing (scripts/setup installs it)")

FAILING = """duration = "40s"
settle = "10s"
[cluster]
app_servers = 3
leader_election = "bully"
[clients]
count = 4
channels = 2
[[faults]]
at = "5s"
kind = "partition"
groups = [["app1"], ["app2", "app3"]]
[[faults]]
at = "30s"
kind = "heal"
"""


def run(faultline, args, want):
    p = subprocess.run([faultline, "run", *args], capture_output=True, text=True)
    if p.returncode != want:
        sys.exit(f"validate_reports: faultline run {' '.join(args)} exited {p.returncode}, expected {want}\n"
                 f"{p.stdout}{p.stderr}")
    return p.stdout


def main():
    faultline, source = sys.argv[1], pathlib.Path(sys.argv[2])
    schema = json.loads((source / "schemas" / "report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        failing = tmp / "split_brain.toml"
        failing.write_text(FAILING)
        run(faultline, [str(failing), "--seed", "4", "--out", str(tmp / "out")], 1)
        library = source / "scenarios" / "hazards" / "resync_from_lagging_replica.toml"
        run(faultline, [str(library), "--out", str(tmp / "out"), "--keep-passing"], 0)
        reports = sorted((tmp / "out").glob("*/report.json"))
        if len(reports) != 2:
            sys.exit(f"validate_reports: expected 2 report.json files, found {[str(r) for r in reports]}")
        seen = set()
        for path in reports:
            report = json.loads(path.read_text())
            errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
            for e in errors:
                print(f"{path}: {'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
            if errors:
                sys.exit(1)
            seen.add(report["result"])
            if report["result"] == "PASS":
                # The library run's 11 violations have one cause: one group.
                groups = report["groups"]
                if not groups or groups[0]["kind"] != "replica_behind" or groups[0]["count"] != len(report["violations"]):
                    sys.exit(f"validate_reports: {path}: expected one replica_behind group, got {groups}")
            # The validator rejects what does not match (so this test can fail).
            for mutate in (lambda r: r.__setitem__("seed", "4"),
                           lambda r: r.__setitem__("schema", "faultline.report/1"),
                           lambda r: r["history"].__setitem__("kept", "some"),
                           lambda r: r.__setitem__("surprise", 1)):
                bad = copy.deepcopy(report)
                mutate(bad)
                if validator.is_valid(bad):
                    sys.exit(f"validate_reports: a broken copy of {path} validated")
        if seen != {"PASS", "FAIL"}:
            sys.exit(f"validate_reports: expected a PASS and a FAIL report, got {seen}")
    print("validate_reports: 2 reports valid against schemas/report.schema.json")


if __name__ == "__main__":
    main()
