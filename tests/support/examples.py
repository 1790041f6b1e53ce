"""The documentation's code blocks as tests/test_examples.py sees them. The rules for writers:

- ```sh blocks run, in order, in one bash session per document (`set -euo pipefail`), in a project
  directory whose ./data `make run` prepared and serves; SB_KEY and SB_ADMIN_PASSWORD are exported
  (init's secrets), `. data/demo.env` loads the rest. curl fails on any HTTP status >= 400: a call
  meant to fail says `|| true` and shows the error after it.
- ```sh setup (the project's own set-up: make run, make test) and ```sh root (needs root on a
  server) are only syntax-checked; a `switchboard ...` command in them must name a real command
  and real options.
- A ```text or ```json block right after a command block (blank lines between at most) is its
  output: each shown line must appear in it (`...` elides: a whole line, or any part of one);
  shown JSON must be contained in the JSON printed (objects: the keys shown; arrays: the elements
  shown; `...` as a value or element matches anything).
- Any other language is not a command. A block without an info string may hold no shell command
  line, and other spellings of shell (```bash, ```console) are refused: nothing goes unrun unseen.

Also a pytest plugin: the terminal summary lists what the examples test ran and checked, per file."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from switchboard.access.keys import KEY_PATTERN

RUN, SETUP, ROOT, OUTPUT, OTHER, UNCLASSIFIED = "run", "setup", "root", "output", "other", "unclassified"
COMMAND_KINDS = {"sh": RUN, "sh setup": SETUP, "sh root": ROOT}
# Fences that look like commands but are not in the contract: refused, never silently skipped.
SHELL_LIKE = {"bash", "shell", "console", "zsh", "shell-session", "sh-session", "terminal"}
ELISION = "..."
SUMMARY = "examples"  # the user property each document's test reports its counts under


@dataclass(frozen=True)
class Block:
    document: str  # the file, relative to the documentation root
    line: int  # of the opening fence, 1-based
    info: str
    text: str
    kind: str
    output: Block | None = None  # the text/json block shown right after a command block
    fenced: bool = True  # False: an indented code block

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"

    def problem(self) -> str | None:
        """Why the block breaks the contract's classification, if it does."""
        if self.kind != UNCLASSIFIED:
            return None
        if not self.fenced:
            return "commands in an indented code block (fence them: ```sh, ```sh setup or ```sh root)"
        if not self.info:
            return "commands in a code block without an info string (say ```sh, ```sh setup or ```sh root)"
        return f"info string {self.info!r} is not in the contract (commands: ```sh, ```sh setup, ```sh root)"


# A line a reader would type at a shell: in a block without an info string, it must not go unrun.
COMMAND_LINE = re.compile(r"^\s*(\$ |sudo |curl |switchboard |make |export |\. |cd |python3? )")


def classify(info: str, text: str) -> str:
    words = info.split()
    if not words:  # a directory tree, say (or an indented block); commands in it would go unrun
        return UNCLASSIFIED if any(COMMAND_LINE.match(line) for line in text.splitlines()) else OTHER
    if words[0] == "sh" or words[0] in SHELL_LIKE:
        return COMMAND_KINDS.get(" ".join(words), UNCLASSIFIED)
    return OTHER


def extract(document: str, markdown: str) -> list[Block]:
    """Every code block of the markdown, in order; a text/json block right after a command block
    (only blank lines between) becomes its `output`, not a block of its own."""
    source = markdown.splitlines()
    blocks: list[Block] = []
    end_of_last = -1
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type not in ("fence", "code_block") or token.map is None:
            continue
        start, end = token.map
        info = token.info.strip() if token.type == "fence" else ""
        fenced = token.type == "fence"
        block = Block(
            document,
            start + 1,
            info,
            token.content,
            classify(info, token.content),
            None,
            fenced,
        )
        previous = blocks[-1] if blocks else None
        adjacent = all(not line.strip() for line in source[end_of_last:start])
        if (
            previous is not None
            and previous.kind in COMMAND_KINDS.values()
            and previous.output is None
            and adjacent
            and info.split()[:1] in (["text"], ["json"])
        ):
            blocks[-1] = Block(
                **{**vars(previous), "output": Block(document, start + 1, info, token.content, OUTPUT)}
            )
        else:
            blocks.append(block)
        end_of_last = end
    return blocks


# -- shown output ------------------------------------------------------------------------------------


def _pattern(shown: str) -> re.Pattern[str]:
    """A shown line or string: `...` inside it stands for anything."""
    return re.compile(".*?".join(re.escape(part) for part in shown.split(ELISION)), re.DOTALL)


def text_mismatches(shown: str, actual: str) -> list[str]:
    """The shown lines (trimmed, not blank, not exactly `...`) that the actual output lacks."""
    missing = []
    for line in shown.splitlines():
        wanted = line.strip()
        if wanted and wanted != ELISION and _pattern(wanted).search(actual) is None:
            missing.append(wanted)
    return missing


def _loads_shown(shown: str) -> Any:
    """A shown JSON document, with its elisions: a line `...` drops out, `...` as a value or an
    array's element becomes the wildcard string "..."."""
    kept = "\n".join(line for line in shown.splitlines() if line.strip() != ELISION)
    kept = re.sub(r"(\{)\s*\.\.\.\s*,?|,?\s*\.\.\.\s*(\})", r"\1\2", kept)  # elided members
    kept = re.sub(r"(?<=[:\[,])\s*\.\.\.(?=\s*[,\]}])", ' "..."', kept)  # an elided value or element
    kept = re.sub(r",(\s*[}\]])", r"\1", kept)  # the comma before a tail elided by a line
    return json.loads(kept)


def json_contains(actual: Any, shown: Any) -> bool:
    """Is everything shown present in actual? Objects: each shown key, matching; arrays: each shown
    element matches some actual element; strings: `...` matches anything."""
    if isinstance(shown, dict):
        return isinstance(actual, dict) and all(
            key in actual and json_contains(actual[key], value) for key, value in shown.items()
        )
    if isinstance(shown, list):
        return isinstance(actual, list) and all(
            any(json_contains(item, wanted) for item in actual) for wanted in shown if wanted != ELISION
        )
    if isinstance(shown, str) and isinstance(actual, str):
        return _pattern(shown).fullmatch(actual) is not None
    if isinstance(shown, str) and shown == ELISION:
        return True
    return type(actual) is type(shown) and actual == shown


def _json_values(text: str) -> Iterator[Any]:
    """The JSON documents in a command's output (curl prints one; a script may print text around)."""
    decoder = json.JSONDecoder()
    position = 0
    while (match := re.compile(r"[\[{]").search(text, position)) is not None:
        try:
            value, position = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            position = match.start() + 1
            continue
        yield value


def output_mismatch(output: Block, stdout: str, stderr: str) -> str | None:
    """What contradicts the shown output, or None."""
    if output.info.split()[0] == "json":
        try:
            shown = _loads_shown(output.text)
        except json.JSONDecodeError as exc:
            return f"the json block at {output.where} is not JSON (after elisions): {exc}"
        if any(json_contains(value, shown) for value in _json_values(stdout)):
            return None
        return f"no JSON document in the output contains what {output.where} shows"
    missing = text_mismatches(output.text, stdout + stderr)
    if missing:
        return f"lines shown at {output.where} are not in the output: " + "; ".join(map(repr, missing))
    return None


# -- syntax and the CLI commands named in root blocks -----------------------------------------------


def syntax_error(text: str) -> str | None:
    checked = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True, check=False)
    return checked.stderr.strip() or None if checked.returncode else None


SUDO_OPTIONS_WITH_ARGUMENT = {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "--user", "--group"}


def switchboard_commands(text: str) -> list[list[str]]:
    """The arguments of every `switchboard ...` command in a shell block (at command position: after
    sudo and its options, env and assignments; not a user or service named switchboard)."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            words = list(lexer)
        except ValueError:
            continue
        command: list[str] = []
        for word in [*words, ";"]:
            if word and set(word) <= set(";&|()"):
                if command:
                    found.extend(_switchboard_arguments(command))
                command = []
            else:
                command.append(word)
    return found


PREFIX_COMMANDS = {"sudo", "env", "exec", "nohup", "time"}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


def _switchboard_arguments(words: list[str]) -> list[list[str]]:
    index = 0
    while index < len(words):
        word = words[index]
        if word in PREFIX_COMMANDS or ASSIGNMENT.fullmatch(word):
            index += 1
        elif word.startswith("-") and index > 0:  # a prefix command's option: sudo -u switchboard
            index += 2 if word in SUDO_OPTIONS_WITH_ARGUMENT else 1
        else:
            break
    command = words[index : index + 3]
    if len(command) == 3 and Path(command[0]).name in ("sh", "bash") and command[1] == "-c":
        return switchboard_commands(command[2])  # sudo -u switchboard sh -c '. env; exec switchboard ...'
    if command and Path(command[0]).name == "switchboard":
        return [words[index + 1 :]]
    return []


def cli_path(arguments: list[str], is_group: Callable[[list[str]], bool]) -> list[str]:
    """The command part of `switchboard` arguments: the words before the first option or argument
    of a leaf command (`keys create --account x` -> ["keys", "create"])."""
    path: list[str] = []
    for word in arguments:
        if word.startswith("-") or (path and not is_group(path)):
            break
        path.append(word)
    return path


# -- one bash session per document --------------------------------------------------------------------


@dataclass
class BlockRun:
    block: Block
    stdout: str = ""
    stderr: str = ""
    finished: bool = False


@dataclass
class SessionRun:
    runs: list[BlockRun] = field(default_factory=list)
    returncode: int | None = None  # None: timed out
    failed_line: int | None = None  # the document line the ERR trap saw, when it maps to one
    header_stderr: str = ""

    @property
    def failed(self) -> BlockRun | None:
        """The block the session stopped in (the first unfinished one), if it did not end well."""
        if self.returncode == 0:
            return None
        unfinished = [run for run in self.runs if not run.finished]
        return unfinished[0] if unfinished else (self.runs[-1] if self.runs else None)


def run_session(
    blocks: list[Block], cwd: Path, env: dict[str, str], work: Path, timeout: float
) -> SessionRun:
    """The blocks in order, in one `bash` with `set -euo pipefail`: each block's output in its own
    files, a failure's line (script line mapped back to the document) from an ERR trap."""
    work.mkdir(parents=True, exist_ok=True)
    script = [
        "set -Eeuo pipefail",
        f"__sb_out={shlex.quote(str(work))}",
        '__sb_enter() { exec >"$__sb_out/$1.out" 2>"$__sb_out/$1.err"; }',
        'trap \'printf "%s\\n" "$LINENO" >"$__sb_out/failed-line"\' ERR',
    ]
    document_line: dict[int, int] = {}
    for number, block in enumerate(blocks):
        script.append(f"__sb_enter {number}")
        for offset, line in enumerate(block.text.splitlines()):
            script.append(line)
            document_line[len(script)] = block.line + 1 + offset
        script.append(f': >"$__sb_out/{number}.done"')
    script.append("__sb_enter end")
    (work / "session.sh").write_text("\n".join(script) + "\n")
    with (work / "bash.out").open("w") as out, (work / "bash.err").open("w") as err:
        process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", str(work / "session.sh")],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its background jobs are stopped with it
        )
        try:
            returncode: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    session = SessionRun(returncode=returncode, header_stderr=(work / "bash.err").read_text())
    for number, block in enumerate(blocks):
        stdout, stderr = work / f"{number}.out", work / f"{number}.err"
        session.runs.append(
            BlockRun(
                block,
                stdout.read_text(errors="replace") if stdout.exists() else "",
                stderr.read_text(errors="replace") if stderr.exists() else "",
                (work / f"{number}.done").exists(),
            )
        )
    failed_line = work / "failed-line"
    if failed_line.exists() and failed_line.read_text().strip().isdigit():
        session.failed_line = document_line.get(int(failed_line.read_text()))
    return session


def write_curl_shim(directory: Path, real_curl: str) -> None:
    """`curl` for the examples: any HTTP status >= 400 fails the command, as the contract says."""
    shim = directory / "curl"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(real_curl)} --fail-with-body -sS "$@"\n')
    shim.chmod(0o755)


PRINTED_PASSWORD = re.compile(r"""(password"?\s*[=:]\s*"?)[^\s"',}]+""", re.IGNORECASE)


def redact(text: str, secrets: list[str]) -> str:
    """A failure report shows output; the keys and passwords in it are the demo's, still not for a log."""
    text = KEY_PATTERN.sub(lambda match: match.group()[:8] + "…", text)
    text = PRINTED_PASSWORD.sub(r"\1…", text)  # one a documented command made (accounts create)
    for secret in secrets:
        if secret:
            text = text.replace(secret, secret[:3] + "…")
    return text


# -- the plugin: what ran, in the terminal summary ---------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counts = [
        str(value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport) and report.when == "call"
        for name, value in report.user_properties
        if name == SUMMARY
    ]
    if counts:
        terminalreporter.section("documentation examples")
        for line in sorted(counts):
            terminalreporter.write_line(line)
