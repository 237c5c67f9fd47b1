"""Email templates from the rules directory, rendered with Jinja2 and checked at load."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
import jinja2.bccache
import jinja2.nodes

from mailbot.mail.xmltext import xml_safe
from mailbot.rules import templatecache
from mailbot.rules.pagesamples import PAGE_SAMPLES
from mailbot.rules.samples import SAMPLES

TEMPLATE_NAMES = tuple(SAMPLES)


@dataclass(frozen=True)
class Rendered:
    """One email's subject and bodies, ready to be put into MIME."""

    subject: str
    text: str
    html: str


# A web address in an email's text: http(s) and then no space, quote or
# angle bracket (one bounded character class, so the scan is linear).
_URL = re.compile(r"https?://[^\s<>\"']+")
# Paragraph breaks, and the runs of blank lines a template's tags leave.
_PARAGRAPH = re.compile(r"\n\s*\n")
_BLANK_LINES = re.compile(r"\n{3,}")
# Punctuation that ends a sentence rather than the address it follows.
_TRAILING = ".,;:!?)]}"


def _linked(line: str) -> str:
    """One line of text as HTML, its web addresses made links (the status page's, say)."""
    if "http" not in line:
        return html.escape(line)  # No web address can start on this line.
    out: list[str] = []
    last = 0
    for found in _URL.finditer(line):
        url = found.group().rstrip(_TRAILING)
        end = found.start() + len(url)
        out.append(html.escape(line[last : found.start()]))
        escaped = html.escape(url)
        out.append(f'<a href="{escaped}">{escaped}</a>')
        last = end
    out.append(html.escape(line[last:]))
    return "".join(out)


def text_to_html(text: str) -> str:
    """Make a plain, readable HTML alternative from the text body, web addresses as links."""
    text = xml_safe(text)
    paragraphs = _PARAGRAPH.split(text.strip())
    body = "\n".join(
        "<p>" + "<br>\n".join(_linked(line) for line in p.splitlines()) + "</p>" for p in paragraphs
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        '<body style="font-family: Arial, sans-serif; font-size: 15px; line-height: 1.4;">\n'
        f"{body}\n</body></html>\n"
    )


@dataclass(frozen=True)
class Templates:
    """The loaded template set; render() produces a Rendered email."""

    env: jinja2.Environment
    # The same folder with autoescaping on, for HTML pages (see PAGE_SAMPLES).
    pages: jinja2.Environment | None = None

    def render_page(self, name: str, context: dict[str, Any]) -> str:
        """Render the HTML page template ``NAME.html.j2``, escaping every value."""
        env = self.pages or self.env
        # Escaping stops markup, not control characters; those are dropped
        # from the whole page so that it stays well-formed.
        return xml_safe(env.get_template(f"{name}.html.j2").render(context))

    def fields_read(self, name: str, variable: str) -> frozenset[str] | None:
        """Which fields of ``variable`` the template ``NAME.txt.j2`` reads, or None if unclear.

        A broadcast renders a notice once per distinct value of what it reads
        of the recipient (see incidents/compose.py).
        """
        file = f"{name}.txt.j2"
        return _fields_read(self.env, file, self.env.get_template(file), variable)

    def render(self, name: str, context: dict[str, Any]) -> Rendered:
        """Render template ``name`` (subject and body blocks) with ``context``."""
        template = self.env.get_template(f"{name}.txt.j2")
        ctx = template.new_context(context)
        subject = "".join(template.blocks["subject"](ctx))
        text = "".join(template.blocks["body"](ctx))
        # Subjects are one line whatever the template's whitespace does.
        subject = " ".join(subject.split())
        text = _BLANK_LINES.sub("\n\n", text.strip()) + "\n"
        return Rendered(subject=subject, text=text, html=text_to_html(text))


@functools.lru_cache(maxsize=16)
def _fields_read(
    env: jinja2.Environment, file: str, template: jinja2.Template, variable: str
) -> frozenset[str] | None:
    """The fields of ``variable`` the template ``file`` reads, or None when that is unclear.

    A template that names ``variable`` only as ``variable.FIELD`` or
    ``variable["FIELD"]``, and includes, imports and extends nothing, reads
    nothing else of it; anything else (the variable passed whole, assigned,
    or a template that shares its context with another) may read any field.
    ``template`` is the compiled template, so that an edited and reloaded one
    is looked at afresh.
    """
    del template  # Part of the cache key only.
    if env.loader is None:
        return None
    tree = env.parse(env.loader.get_source(env, file)[0])
    shared = (jinja2.nodes.Extends, jinja2.nodes.Include, jinja2.nodes.Import)
    if any(True for _ in tree.find_all((*shared, jinja2.nodes.FromImport))):
        return None
    fields: set[str] = set()
    plain = 0
    for node in tree.find_all(jinja2.nodes.Getattr):
        if isinstance(node.node, jinja2.nodes.Name) and node.node.name == variable:
            fields.add(node.attr)
            plain += 1
    for item in tree.find_all(jinja2.nodes.Getitem):
        key = item.arg
        named = isinstance(item.node, jinja2.nodes.Name) and item.node.name == variable
        if named and isinstance(key, jinja2.nodes.Const) and isinstance(key.value, str):
            fields.add(key.value)
            plain += 1
    uses = sum(1 for n in tree.find_all(jinja2.nodes.Name) if n.name == variable)
    return frozenset(fields) if uses == plain else None


def placeholder() -> Templates:
    """An empty template set, for a process that never renders (the intake worker).

    Compiled templates cannot cross a process boundary; this stands in for
    them, and rendering anything from it fails loudly (no template found).
    """
    return Templates(jinja2.Environment(loader=jinja2.DictLoader({})))


def _relocated(code: CodeType, filename: str) -> CodeType:
    """``code`` (and the functions inside it) as if compiled from ``filename``."""
    consts = tuple(
        _relocated(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=consts)


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory and on disk, keyed by name and content.

    Compiling the templates is nearly all of a rules load, and every command
    loads the rules (some twice; the daemon again on each reload).  The key
    is a hash of the template's name and source, not of where the file is:
    an edited template is compiled afresh, an unchanged one is not, and the
    same rules in another folder (a new release's, a test's copy) reuse the
    compiled code instead of adding files to the cache for ever.  The memory
    serves later loads in this process, and the disk serves the next command:
    the folder [rules] template_cache names (made with mode 0700), else
    Jinja's per-user folder in the temporary directory (which Jinja makes
    with mode 0700 and refuses if anyone else owns it).  A folder that cannot
    be made, read or written, or that anyone else owns or may write to,
    leaves the memory alone to do the work.  Compiled code depends on the
    environment's settings (autoescape above all), so each environment has a
    cache and a file pattern of its own.
    """

    def __init__(self, pattern: str, folder: Path | None) -> None:
        self._code: dict[str, bytes] = {}
        self._disk: jinja2.BytecodeCache | None
        try:
            if folder is None:
                self._disk = jinja2.FileSystemBytecodeCache(pattern=pattern)
            else:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._disk = jinja2.FileSystemBytecodeCache(str(folder), pattern)
                # Compiled templates are code this process runs: a folder
                # anyone else owns or may write to is not trusted with it.
                found = folder.stat()
                if found.st_uid != os.getuid() or found.st_mode & 0o022:
                    self._disk = None
        except (RuntimeError, OSError):
            # No safe or usable folder to be had: compile once per process instead.
            self._disk = None

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> jinja2.bccache.Bucket:
        key = hashlib.sha1(f"{name}\0{source}".encode()).hexdigest()
        # The key already names the content, so it is the checksum too.
        bucket = jinja2.bccache.Bucket(environment, key, key)
        self.load_bytecode(bucket)
        code = bucket.code
        if code is not None and filename is not None and code.co_filename != filename:
            # Compiled from a copy elsewhere: tracebacks and the template's
            # ``filename`` name this file, as if it had been compiled here.
            bucket.code = _relocated(code, filename)
        return bucket

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)
        elif self._disk is not None:
            # The bucket checks the file's checksum itself and stays empty on a mismatch.
            with contextlib.suppress(OSError):
                self._disk.load_bytecode(bucket)
            if bucket.code is not None:
                self._code[bucket.key] = bucket.bytecode_to_string()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()
        if self._disk is not None:
            # Jinja writes to a temporary file and renames it.  A folder that
            # cannot be written (a read-only file system) only means the next
            # process compiles again: the code is kept in memory regardless.
            with contextlib.suppress(OSError):
                self._disk.dump_bytecode(bucket)


def _compiled(kind: str) -> _CompiledTemplates:
    """The cache for one kind of environment, in the folder [rules] template_cache names."""
    return _cache_in(kind, templatecache.folder())


@functools.cache
def _cache_in(kind: str, folder: Path | None) -> _CompiledTemplates:
    """The cache for one kind of environment and folder, made on first use (it makes the folder)."""
    return _CompiledTemplates(f"__mailbot_{kind}_%s.cache", folder)


def load_templates(folder: Path, problems: list[str]) -> Templates | None:
    """Load the templates in ``folder`` and render each against sample data."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        bytecode_cache=_compiled("text"),
    )
    pages = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
        bytecode_cache=_compiled("page"),
    )
    templates = Templates(env, pages)
    before = len(problems)
    for name, sample in PAGE_SAMPLES.items():
        file = f"templates/{name}.html.j2"
        try:
            templates.render_page(name, sample)
        except jinja2.TemplateNotFound:
            problems.append(f"{file}: template is missing")
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{file}: line {exc.lineno}: {exc.message}")
        except jinja2.UndefinedError as exc:
            problems.append(f"{file}: {exc.message} (check the variable names)")
        except (jinja2.TemplateError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{file}: cannot render: {exc}")
    for name in TEMPLATE_NAMES:
        file = f"templates/{name}.txt.j2"
        try:
            template = env.get_template(f"{name}.txt.j2")
        except jinja2.TemplateNotFound:
            problems.append(f"{file}: template is missing")
            continue
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{file}: line {exc.lineno}: {exc.message}")
            continue
        for block in ("subject", "body"):
            if block not in template.blocks:
                problems.append(f"{file}: block {block!r} is missing")
        try:
            templates.render(name, SAMPLES[name])
        except jinja2.UndefinedError as exc:
            problems.append(f"{file}: {exc.message} (check the variable names)")
        except (jinja2.TemplateError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{file}: cannot render: {exc}")
    return templates if len(problems) == before else None
