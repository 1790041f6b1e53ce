"""Every command block of README.md and docs/*.md runs as written against `make run`'s demo: a
failed command, an HTTP status >= 400 or output contradicting the text shown after a block fails
the document's test, naming the file, the line and the block. SWITCHBOARD_EXAMPLES_ROOT points it
at another tree's documentation."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from switchboard.cli.main import app
from tests.support import secrets_scan
from tests.support.examples import (
    OUTPUT,
    ROOT,
    RUN,
    SETUP,
    SUMMARY,
    Block,
    cli_path,
    extract,
    output_mismatch,
    redact,
    run_session,
    switchboard_commands,
    syntax_error,
    write_curl_shim,
)
from tests.support.server import free_port, running_server

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("examples")]  # one demo server for all

DOCS_ROOT = Path(os.environ.get("SWITCHBOARD_EXAMPLES_ROOT") or Path(__file__).resolve().parents[1])
DOCUMENTS = [
    path.relative_to(DOCS_ROOT).as_posix()
    for path in [DOCS_ROOT / "README.md", *sorted((DOCS_ROOT / "docs").glob("*.md"))]
    if path.exists()
]
SESSION_TIMEOUT = 180  # seconds for one document's blocks (a subscribe example waits a few)
RecordProperty = Callable[[str, object], None]
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


@dataclass(frozen=True)
class Demo:
    """The temporary project a reader has after `make run`, and the shell environment blocks get."""

    project: Path
    env: dict[str, str]
    secrets: tuple[str, ...]  # redacted from failure reports


def _shell_env(shims: Path) -> dict[str, str]:
    """The reader's shell: no SWITCHBOARD_* settings of the test run; the shims, then the venv's
    `switchboard`, then the usual PATH."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SWITCHBOARD_")}
    env["PATH"] = os.pathsep.join([str(shims), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _switchboard(project: Path, env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "switchboard"), *arguments],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"switchboard {' '.join(arguments)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`make run` in a temporary project: init (its key and password exported as SB_KEY and
    SB_ADMIN_PASSWORD, as the README tells the reader to), demo (its demo.env naming the port the
    test serves on; the certificate made by demo, as on a reader's first run), serve."""
    project = tmp_path_factory.mktemp("examples-project")
    shims = tmp_path_factory.mktemp("examples-shims")
    real_curl = shutil.which("curl")
    assert real_curl, "the examples need curl"
    write_curl_shim(shims, real_curl)
    env = _shell_env(shims)
    printed = dict(
        line.split("=", 1) for line in _switchboard(project, env, "init", "--data-dir", "data").splitlines()
    )
    env["SB_KEY"], env["SB_ADMIN_PASSWORD"] = printed["global_api_key"], printed["admin_password"]
    port = free_port()
    env["SWITCHBOARD_PORT"] = str(port)  # demo.env's SB names the test's port
    _switchboard(project, env, "demo", "--data-dir", "data")
    data = project / "data"
    passwords = re.findall(r"_PASSWORD='([^']+)'", (data / "demo.env").read_text())
    for password in (env["SB_ADMIN_PASSWORD"], *passwords):  # hashed in another process: told to the scan
        secrets_scan.SCAN.record(password)
    # Its log (in the project) is scanned for secrets after the run, like every server's.
    with running_server(data, f"sqlite:///{data / 'switchboard.db'}", port=port):
        yield Demo(project, env, (env["SB_KEY"], env["SB_ADMIN_PASSWORD"], *passwords))


# -- the CLI named in blocks that are not run ---------------------------------------------------------

CLI = typer.main.get_command(app)


def _cli_command(path: list[str]) -> Any:
    """The command object at `path`, or None (a group has `commands`; typer vendors its click)."""
    command: Any = CLI
    for word in path:
        if word not in getattr(command, "commands", {}):
            return None
        command = command.commands[word]
    return command


def cli_problem(arguments: list[str]) -> str | None:
    """Why `switchboard <arguments>` would not parse: an unknown command, or an unknown option."""
    path = cli_path(arguments, lambda words: hasattr(_cli_command(words), "commands"))
    command = _cli_command(path)
    shown = " ".join(["switchboard", *arguments])
    if command is None or hasattr(command, "commands"):
        return f"`{shown}`: no command `switchboard {' '.join(path)}`"
    helped = CliRunner().invoke(app, [*path, "--help"])
    if helped.exit_code != 0:
        return f"`switchboard {' '.join(path)} --help` fails: {helped.output}"
    options = {name for parameter in command.params for name in parameter.opts + parameter.secondary_opts}
    unknown = [
        word.split("=")[0] for word in arguments if word.startswith("-") and word.split("=")[0] not in options
    ]
    if unknown:
        return f"`{shown}`: `switchboard {' '.join(path)}` has no option {', '.join(unknown)}"
    return None


# -- one document ---------------------------------------------------------------------------------------


def _report(block: Block, why: str, stdout: str, stderr: str, secrets: tuple[str, ...]) -> str:
    return redact(
        f"{block.where}: {why}\n--- block ```{block.info} (line {block.line}) ---\n{block.text}"
        f"--- stdout ---\n{stdout[-4000:]}\n--- stderr ---\n{stderr[-4000:]}",
        list(secrets),
    )


def check_document(name: str, markdown: str, demo: Demo | None, work: Path) -> tuple[list[str], Counter[str]]:
    """Everything wrong with one document's blocks, and what was checked (`demo` is wanted only
    when the document has blocks to run)."""
    blocks = extract(name, markdown)
    problems: list[str] = []
    counts: Counter[str] = Counter()
    for block in blocks:
        counts[block.kind] += 1
        if (problem := block.problem()) is not None:
            problems.append(f"{block.where}: {problem}")
        if block.kind in (RUN, SETUP, ROOT) and (error := syntax_error(block.text)):
            problems.append(f"{block.where}: bash -n: {error}\n{block.text}")
        if block.kind in (SETUP, ROOT):
            for arguments in switchboard_commands(block.text):
                counts["cli"] += 1
                if (problem := cli_problem(arguments)) is not None:
                    problems.append(f"{block.where}: {problem}")
    runs = [block for block in blocks if block.kind == RUN]
    if not runs or any(syntax_error(block.text) for block in runs):
        return problems, counts
    assert demo is not None
    session = run_session(runs, demo.project, demo.env, work, SESSION_TIMEOUT)
    failed = session.failed
    if failed is not None:
        why = (
            f"timed out after {SESSION_TIMEOUT} s"
            if session.returncode is None
            else f"failed (exit {session.returncode}"
            + (f", at line {session.failed_line})" if session.failed_line else ")")
        )
        problems.append(_report(failed.block, why, failed.stdout, failed.stderr, demo.secrets))
    counts["finished"] = sum(run.finished for run in session.runs)
    for run in session.runs:
        if not run.finished or run.block.output is None:
            continue
        counts[OUTPUT] += 1
        if (mismatch := output_mismatch(run.block.output, run.stdout, run.stderr)) is not None:
            problems.append(_report(run.block, mismatch, run.stdout, run.stderr, demo.secrets))
    return problems, counts


def _summary(name: str, counts: Counter[str]) -> str:
    return (
        f"{name}: {counts['finished']} of {counts[RUN]} blocks ran ({counts[OUTPUT]} shown outputs checked), "
        f"{counts[SETUP] + counts[ROOT]} syntax-checked ({counts[SETUP]} setup, {counts[ROOT]} root; "
        f"{counts['cli']} switchboard commands checked), {counts['other']} other blocks"
    )


@pytest.mark.parametrize("document", DOCUMENTS)
def test_document_examples_run_as_written(
    document: str, request: pytest.FixtureRequest, record_property: RecordProperty, tmp_path: Path
) -> None:
    markdown = (DOCS_ROOT / document).read_text()
    needs_server = any(block.kind == RUN for block in extract(document, markdown))
    demo = request.getfixturevalue("demo") if needs_server else None
    problems, counts = check_document(document, markdown, demo, tmp_path / "session")
    record_property(SUMMARY, _summary(document, counts))
    assert not problems, "\n\n".join(problems)


def _fences(markdown: str) -> int:
    """Fenced blocks counted without the extractor: an opening line, then the first line closing it."""
    count, opening = 0, ""
    for line in markdown.splitlines():
        if (match := FENCE.match(line)) is None:
            continue
        fence = match.group(1)
        if not opening:
            opening, count = fence, count + 1
        elif fence[0] == opening[0] and len(fence) >= len(opening) and not line[match.end() :].strip():
            opening = ""
    return count


def test_every_code_block_is_classified_and_counted(record_property: RecordProperty) -> None:
    """No block is silently ignored: the extractor finds every fence a plain count finds, and each
    is a command block of a known kind, shown output, or another language."""
    totals: Counter[str] = Counter()
    problems = []
    for document in DOCUMENTS:
        markdown = (DOCS_ROOT / document).read_text()
        blocks = extract(document, markdown)
        fenced = sum(block.fenced for block in blocks) + sum(block.output is not None for block in blocks)
        if _fences(markdown) > fenced:
            problems.append(f"{document}: {_fences(markdown)} fences, the extractor found {fenced}")
        problems += [f"{block.where}: {problem}" for block in blocks if (problem := block.problem())]
        totals.update(block.kind for block in blocks)
        totals[OUTPUT] += sum(block.output is not None for block in blocks)
    assert DOCUMENTS[:1] == ["README.md"]
    assert totals[RUN] > 0
    assert not problems, "\n".join(problems)
    record_property(
        SUMMARY,
        f"all {len(DOCUMENTS)} documents: {totals[RUN]} blocks to run, {totals[SETUP]} setup and "
        f"{totals[ROOT]} root blocks to syntax-check, {totals[OUTPUT]} shown outputs, "
        f"{totals['other']} other blocks",
    )


# -- the checker can fail: small documents --------------------------------------------------------------


@pytest.fixture
def bare_shell(tmp_path: Path) -> Demo:
    """A shell like the examples' (the curl shim first on PATH), no server: the checker's own tests."""
    shims = tmp_path / "shims"
    shims.mkdir()
    real_curl = shutil.which("curl")
    assert real_curl
    write_curl_shim(shims, real_curl)
    return Demo(tmp_path, _shell_env(shims), ("hunter2-secret",))


SAMPLE = """# Sample

Some prose.

```sh
greeting=hello
echo "$greeting world"
```

```text
hello world
...
```

```sh setup
make run
```

```sh root
sudo -u switchboard /opt/switchboard/.venv/bin/switchboard init --data-dir /var/lib/switchboard
sudo -u switchboard sh -c '. /etc/switchboard.env; exec /opt/sb/bin/switchboard db upgrade' # comment
systemctl restart switchboard && useradd --system switchboard
```

A request body:

```json
{"name": "a request body, not a command"}
```

```text
not after a command: prose in a box
```

```
switchboard/
  cli/      the command
```
"""


def test_extract_classifies_blocks_and_pairs_shown_output() -> None:
    blocks = extract("sample.md", SAMPLE)
    assert [(block.line, block.kind) for block in blocks] == [
        (5, RUN),
        (15, SETUP),
        (19, ROOT),
        (27, "other"),
        (31, "other"),
        (35, "other"),  # no info string, no command: a directory tree
    ]
    assert blocks[0].output is not None
    assert blocks[0].output.line == 10
    assert blocks[0].output.text == "hello world\n...\n"
    assert switchboard_commands(blocks[2].text) == [
        ["init", "--data-dir", "/var/lib/switchboard"],
        ["db", "upgrade"],
    ]


def test_a_good_document_passes(bare_shell: Demo, tmp_path: Path) -> None:
    problems, counts = check_document("sample.md", SAMPLE, bare_shell, tmp_path / "work")
    assert problems == []
    assert (counts[RUN], counts[OUTPUT], counts[SETUP], counts[ROOT], counts["cli"]) == (1, 1, 1, 1, 2)


def test_a_failing_curl_fails_its_block_by_file_and_line(bare_shell: Demo, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "here.json").write_text('{"found": true}')
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/"], check=False).returncode:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        markdown = (
            f"```sh\ncurl http://127.0.0.1:{port}/here.json\n```\n\n"
            f"```sh\necho before\ncurl http://127.0.0.1:{port}/missing.json\n"
            "echo after hunter2-secret password=x7Rt9q\n```\n\n"
            "```sh\necho never\n```\n"
        )
        problems, _ = check_document("broken.md", markdown, bare_shell, tmp_path / "work")
    finally:
        server.terminate()
        server.wait()
    assert len(problems) == 1, problems
    assert problems[0].startswith("broken.md:5: failed (exit 22, at line 7)")
    assert "/missing.json" in problems[0]  # the block's text
    assert "--- stdout ---\nbefore\n" in problems[0]
    assert "404" in problems[0]  # curl's complaint, on stderr
    assert "hunter2" not in problems[0]
    assert "x7Rt9q" not in problems[0]


def test_output_contradicting_the_text_fails(bare_shell: Demo, tmp_path: Path) -> None:
    markdown = (
        "```sh\necho 'tenant acme: 3 teams'\n```\n\n```text\ntenant acme: 4 teams\n```\n\n"
        """```sh\necho '{"tenantId": "acme", "teams": [{"name": "A", "size": 3}], "id": 7}'\n```\n\n"""
        """```json\n{"tenantId": "acme", "teams": [{"name": "A", "size": 2}], ...}\n```\n"""
    )
    problems, counts = check_document("wrong.md", markdown, bare_shell, tmp_path / "work")
    assert counts[OUTPUT] == 2
    assert [problem.splitlines()[0] for problem in problems] == [
        "wrong.md:1: lines shown at wrong.md:5 are not in the output: 'tenant acme: 4 teams'",
        "wrong.md:9: no JSON document in the output contains what wrong.md:13 shows",
    ]


def test_shown_output_elides_with_dots() -> None:
    text_block = Block("d.md", 3, "text", "global_api_key=sbg_...\n...\nadmin_username=admin\n", OUTPUT)
    assert output_mismatch(text_block, "global_api_key=sbg_abc\nadmin_username=admin\n", "") is None
    assert output_mismatch(text_block, "global_api_key=sbu_abc\nadmin_username=admin\n", "") is not None
    json_block = Block("d.md", 3, "json", '{\n  "id": "...",\n  "users": [...],\n  ...\n}\n', OUTPUT)
    assert output_mismatch(json_block, '{"id": "7f", "users": [], "more": 1}', "") is None
    assert output_mismatch(json_block, '{"users": []}', "") is not None


def test_unclassified_blocks_and_unknown_cli_commands_fail(bare_shell: Demo, tmp_path: Path) -> None:
    markdown = (
        "```bash\nls\n```\n\n```\nswitchboard init\n```\n\n"
        "```sh root\nswitchboard keys create --scope x\n```\n\n"
        "```sh setup\nswitchboard sreve\nmake run (\n```\n\nThen:\n\n    curl http://127.0.0.1/\n"
    )
    problems, _ = check_document("loose.md", markdown, bare_shell, tmp_path / "work")
    assert [problem.splitlines()[0] for problem in problems] == [
        "loose.md:1: info string 'bash' is not in the contract (commands: ```sh, ```sh setup, ```sh root)",
        "loose.md:5: commands in a code block without an info string (say ```sh, ```sh setup or ```sh root)",
        "loose.md:9: `switchboard keys create --scope x`: `switchboard keys create` has no option --scope",
        "loose.md:13: bash -n: bash: line 2: syntax error near unexpected token `('",
        "loose.md:13: `switchboard sreve`: no command `switchboard sreve`",
        "loose.md:20: commands in an indented code block (fence them: ```sh, ```sh setup or ```sh root)",
    ]
