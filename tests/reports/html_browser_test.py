#!/usr/bin/env python3
"""report.html in a real browser: Debian's headless Chromium, no network.

Runs a library scenario that fails (hazards/split_brain_bully_partition.toml
with its [expect] removed, so its split brain is unexpected) under a hostile
name and file name, with `faultline run --out`; then:
  - repro.toml in the folder fails again the same way (same invariant, same
    trace hash) when run alone;
  - Chromium's rendered DOM of report.html (focused on the violation, #v0) has
    the lanes (servers, database, folded clients), the violation marker, its
    witnesses and arrows, the diagram's "rendered" status, and no script error
    (the page's window.onerror would add #script-error);
  - the page's self-test (?selftest) opened a folded clients lane by a click,
    zoomed with the button and the wheel, panned, and showed a witness's
    details on hover;
  - the hostile name shows as text: no element, attribute or title it injects;
  - a screenshot (1400x900) is kept at ARTIFACT for CI.
Chromium runs twice (the DOM, the screenshot), each with a fresh profile.

Skipped (exit 77, a message saying why) only when /usr/bin/chromium is absent.

usage: html_browser_test.py FAULTLINE SOURCE_DIR ARTIFACT_PNG
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

CHROMIUM = "/usr/bin/chromium"
HOSTILE = ("<script>document.title='PWNED'</script>"
           "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">")
HOSTILE_FILE = "<img src=x onerror=alert(1)>.toml"  # a file name can hold markup too
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio"]


def fail(msg):
    sys.exit("html_browser_test: " + msg)


def chromium(args, tmp):
    profile = tempfile.mkdtemp(prefix="profile-", dir=tmp)
    p = subprocess.run([CHROMIUM, *FLAGS, "--user-data-dir=" + profile, *args],
                       capture_output=True, text=True, timeout=180)
    if p.returncode != 0:
        fail(f"chromium exited {p.returncode}\n{p.stderr[-3000:]}")
    return p.stdout


def line_parts(out):
    """(invariant, hash) of the one output line of `faultline run`."""
    m = re.search(r" seed=\d+ (\S+) at .* hash=([0-9a-f]{16})", out)
    if not m:
        fail("no FAIL line with an invariant and a hash in:\n" + out)
    return m.group(1), m.group(2)


def main():
    if len(sys.argv) != 4:
        fail("usage: html_browser_test.py FAULTLINE SOURCE_DIR ARTIFACT_PNG")
    faultline, source, artifact = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    if not os.access(CHROMIUM, os.X_OK):
        print(f"SKIP: {CHROMIUM} is absent (Debian's chromium package; scripts/setup installs it)")
        sys.exit(77)

    library = (source / "scenarios" / "hazards" / "split_brain_bully_partition.toml").read_text()
    text = re.sub(r"(?ms)^\[expect\].*?(?=^\[|\Z)", "", library)  # the violation is now unexpected
    if "[expect]" in text or text == library:
        fail("could not remove [expect] from the library scenario")
    text = re.sub(r'(?m)^name = .*$', "name = " + json.dumps(HOSTILE), text, count=1)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        scenario = tmp / HOSTILE_FILE
        scenario.write_text(text)
        out = tmp / "out"
        p = subprocess.run([faultline, "run", str(scenario), "--out", str(out)], capture_output=True, text=True)
        if p.returncode != 1:
            fail(f"faultline run exited {p.returncode}, expected 1 (FAIL)\n{p.stdout}{p.stderr}")
        invariant, trace_hash = line_parts(p.stdout)
        if invariant != "single_leader":
            fail("expected single_leader to break, got " + invariant)
        folders = [d for d in out.iterdir() if d.is_dir()]
        if len(folders) != 1:
            fail(f"expected one report folder, found {folders}")
        folder = folders[0]
        for name in ["report.html", "report.json", "report.md", "summary.txt", "repro.toml"]:
            if not (folder / name).is_file():
                fail(f"{name} missing from {folder}")

        # repro.toml fails again the same way, alone (its seed is pinned).
        again = subprocess.run([faultline, "run", str(folder / "repro.toml")], capture_output=True, text=True)
        if again.returncode != 1:
            fail(f"faultline run repro.toml exited {again.returncode}, expected 1\n{again.stdout}{again.stderr}")
        if line_parts(again.stdout) != (invariant, trace_hash):
            fail(f"repro.toml gave {line_parts(again.stdout)}, the run gave {(invariant, trace_hash)}")

        html = folder / "report.html"
        url = html.as_uri() + "#v0"
        # ?selftest: the page drives itself (opens a folded lane, zooms, pans,
        # hovers a witness) and records the outcome in #fl-status.
        dom = chromium(["--dump-dom", html.as_uri() + "?selftest#v0"], tmp)
        (tmp / "dom.html").write_text(dom)

        def need(pattern, what):
            if not re.search(pattern, dom):
                fail(f"{what}: /{pattern}/ not in the rendered DOM ({len(dom)} characters)")

        if 'id="script-error"' in dom:
            m = re.search(r'id="script-error"[^>]*>([^<]*)', dom)
            fail("the page reported a script error: " + (m.group(1) if m else "?"))
        need(r'id="fl-status"[^>]*data-state="ok"', "the diagram rendered")
        need(r'id="fl-status"[^>]*data-selftest="ok"', "clicking, zooming, panning and hovering worked")
        need(r'class="lane-label sub" data-lane="client\d+"', "a folded lane opened on click")
        status = re.search(r'<div id="fl-status"[^>]*>', dom).group(0)
        attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', status))
        if int(attrs.get("rows", 0)) < 8:
            fail("too few lanes drawn: " + status)
        if int(attrs.get("arrows", 0)) < 1:
            fail("no message arrows around the violation: " + status)
        if int(attrs.get("violations", 0)) < 1:
            fail("no violation marker in view: " + status)
        for lane in ["app1", "app2", "app3", "db-primary", "db-replica1", "proxy"]:
            need(r'class="lane-label[^"]*" data-lane="' + re.escape(lane) + '"', "lane " + lane)
        need(r'class="lane-label group" data-lane="clients of app\d \(\d+\)"', "a folded clients lane")
        lanes = re.findall(r'data-lane="([^"]*)"', dom)
        if lanes.index("app1") > lanes.index("db-primary") or lanes.index("db-primary") > lanes.index("proxy"):
            fail(f"lanes out of order (servers, databases, then the rest): {lanes}")
        need(r'class="violation-marker" data-invariant="single_leader"', "the violation marker")
        need(r'<circle[^>]*class="witness"', "a witness mark")
        need(r'class="msg [a-z]+', "a message arrow")
        need(r'class="band (cut|leader)', "the partition or leader bands")
        # The hostile name is text: escaped in the page, nothing injected.
        if 'data-pwned="1"' in dom or "<title>PWNED" in dom:
            fail("the hostile scenario name ran as markup")
        if re.search(r"<img\b", dom):
            fail("an <img> element was injected by a name")
        need(re.escape("&lt;script&gt;document.title='PWNED'&lt;/script&gt;"), "the hostile name shown as text")
        need(re.escape("&lt;img src=x onerror=alert(1)&gt;"), "the hostile file name shown as text")

        # A screenshot for CI (and for a person to look at).
        artifact.parent.mkdir(parents=True, exist_ok=True)
        if artifact.exists():
            artifact.unlink()
        chromium(["--screenshot=" + str(artifact), "--window-size=1400,900", "--hide-scrollbars", url], tmp)
        data = artifact.read_bytes() if artifact.exists() else b""
        if not data.startswith(b"\x89PNG") or len(data) < 20_000:
            fail(f"no usable screenshot at {artifact} ({len(data)} bytes)")
    print(f"html_browser_test: OK ({status}); screenshot {artifact}")


if __name__ == "__main__":
    main()
