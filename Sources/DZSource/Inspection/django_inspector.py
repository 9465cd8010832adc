"""dz's Django inspector: guesses how to build and deploy the Django project in a checked-out repository.

Usage: python3 -I - REPOSITORY [SOURCE_URL]   (this script on standard input)

Prints one JSON object: {"is_django": bool, "guesses": [{"field", "value", "is_primary", "basis"}, ...],
"warnings": [str, ...], "skipped": ["path: why", ...]}. A basis is a path relative to the repository root.

It never imports or runs the project's code. Python files are read with ast, TOML with tomllib, JSON with json
and setup.cfg with configparser; a setting's value is taken only from a literal, from names assigned literals
before it, or from a path built from __file__ (os.path.join, os.path.dirname, pathlib's / and .parent).
The walk skips version-control and cache directories, node_modules, site-packages and virtualenvs, stops after
DZ_INSPECT_MAX_FILES files (20000), parses no file over 1 MiB, and once DZ_INSPECT_TIME_BUDGET seconds (20)
are spent it reports what it has, with a warning.
"""

import ast
import configparser
import copy
import difflib
import json
import os
import posixpath
import re
import shlex
import stat
import sys
import time

try:
    import tomllib
except ImportError:  # Python before 3.11
    tomllib = None

MAX_FILES = int(os.environ.get("DZ_INSPECT_MAX_FILES") or 20000)
TIME_BUDGET = float(os.environ.get("DZ_INSPECT_TIME_BUDGET") or 20)
MAX_PARSE_BYTES = 1 << 20
MAX_LISTED = 200
SKIP_DIRS = {".git", ".hg", ".svn", ".bzr", "node_modules", "__pycache__", "site-packages", ".tox", ".nox"}
FIELDS = ["title", "base_python_package", "django_settings_module", "additional_python_path_dirs", "manage_py",
          "wsgi_module", "requirements_files", "package_manager", "python_version", "django_version",
          "site_media_map", "database_type", "procfile_web", "procfile_release"]
DJANGO_SETTINGS = {"ROOT_URLCONF", "INSTALLED_APPS", "DATABASES", "DATABASE_ENGINE", "MIDDLEWARE",
                   "MIDDLEWARE_CLASSES", "TEMPLATES"}
POSTGRESQL_DRIVERS = {"psycopg", "psycopg-binary", "psycopg-c", "psycopg2", "psycopg2-binary", "psycopg2cffi"}
MYSQL_DRIVERS = {"mysqlclient", "pymysql", "mysql-connector-python"}
OLD_INDEX = ast.Index if sys.version_info < (3, 9) else ()  # subscripts wrapped their index before 3.9
UNKNOWN = object()  # a value the inspector cannot know without running code
MISSING = object()  # a setting that is not assigned at all


# ---------------------------------------------------------------------------------------------------- paths

def join(*parts):
    return "/".join(part for part in parts if part)


def dirname(path):
    return path.rsplit("/", 1)[0] if "/" in path else ""


def basename(path):
    return path.rsplit("/", 1)[-1]


def depth(path):
    return path.count("/")


def is_within(directory, path):
    return directory == "" or path == directory or path.startswith(directory + "/")


def ancestors(directory):
    """`directory` and every directory above it, up to the repository root ("")."""
    while True:
        yield directory
        if not directory:
            return
        directory = dirname(directory)


def module_name(path, root="", base=""):
    """The dotted module name of the file `path` when `root` is on sys.path, inside package `base`."""
    relative = path[len(root):].lstrip("/") if root else path
    if relative.endswith(".py"):
        relative = relative[:-3]
    if relative.endswith("/__init__") or relative == "__init__":
        relative = dirname(relative)
    return ".".join(part for part in (base, relative.replace("/", ".")) if part)


def is_dotted_name(text):
    return isinstance(text, str) and re.match(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$", text) is not None


# ---------------------------------------------------------------------------------------------------- report

class Report:
    """Warnings, skipped files and the time budget."""

    def __init__(self):
        self.warnings = []
        self.skipped = []
        self.started = time.monotonic()
        self.out_of_time = False

    def warn(self, text):
        if text not in self.warnings:
            self.warnings.append(text)

    def skip(self, path, why):
        entry = "%s: %s" % (path, why)
        if entry not in self.skipped:
            self.skipped.append(entry)

    def in_time(self):
        if not self.out_of_time and time.monotonic() - self.started > TIME_BUDGET:
            self.out_of_time = True
            self.warn("the time budget of %g s is spent: the inspection is partial" % TIME_BUDGET)
        return not self.out_of_time


class Guesses:
    """Guesses by field, best first; a value is kept once, with the basis it was first found in."""

    def __init__(self):
        self.fields = {}

    def add(self, field, value, basis, may_be_primary=True):
        if value is None:
            return
        entries = self.fields.setdefault(field, [])
        if all(entry[0] != value for entry in entries):
            entries.append((value, basis, may_be_primary))

    def values(self, field):
        return [entry[0] for entry in self.fields.get(field, [])]

    def json(self):
        out = []
        for field in FIELDS:
            for index, (value, basis, may_be_primary) in enumerate(self.fields.get(field, [])):
                out.append({"field": field, "value": value, "is_primary": index == 0 and may_be_primary,
                            "basis": basis})
        return out


# ---------------------------------------------------------------------------------------------------- files

def is_virtualenv(full):
    return os.path.isfile(os.path.join(full, "pyvenv.cfg")) or os.path.isfile(os.path.join(full, "bin", "activate"))


class Repository:
    """The files of the checkout, walked once with bounds, and their parsed contents."""

    def __init__(self, root, report):
        self.root = root
        self.report = report
        self.files = []
        self.fileset = set()
        self.dirs = {""}
        self.trees = {}
        self.complete = self.walk()
        self.py_files = [path for path in self.files if path.endswith(".py")]

    def walk(self):
        count = 0
        for directory, subdirectories, names in os.walk(self.root):
            relative = os.path.relpath(directory, self.root)
            relative = "" if relative == "." else relative.replace(os.sep, "/")
            kept = []
            for name in sorted(subdirectories):
                full = os.path.join(directory, name)
                path = join(relative, name)
                if name in SKIP_DIRS or os.path.islink(full):
                    continue
                if is_virtualenv(full):
                    self.report.warn("%s/ is a committed virtualenv: it was not inspected; remove it from the "
                                     "repository (the build makes its own)" % path)
                    continue
                kept.append(name)
                self.dirs.add(path)
            subdirectories[:] = kept
            for name in sorted(names):
                count += 1
                if count > MAX_FILES:
                    self.report.warn("stopped after %d files: the inspection is partial" % MAX_FILES)
                    return False
                path = join(relative, name)
                self.files.append(path)
                self.fileset.add(path)
            if not self.report.in_time():
                return False
        return True

    def read(self, path):
        full = os.path.join(self.root, path)
        try:
            if os.path.islink(full):
                self.report.skip(path, "a symbolic link, not followed")
                return None
            status = os.stat(full)
            if not stat.S_ISREG(status.st_mode):
                self.report.skip(path, "not a regular file")
                return None
            if status.st_size > MAX_PARSE_BYTES:
                self.report.skip(path, "larger than 1 MiB, not parsed")
                return None
            with open(full, "rb") as stream:
                return stream.read()
        except OSError as error:
            self.report.skip(path, "cannot be read: %s" % (error.strerror or error))
            return None

    def text(self, path):
        data = self.read(path)
        return None if data is None else data.decode("utf-8-sig", errors="replace")

    def python(self, path):
        if path not in self.trees:
            tree = None
            data = self.read(path)
            if data is not None:
                try:
                    tree = ast.parse(data, filename=path)
                except SyntaxError as error:
                    self.report.skip(path, "syntax error at line %s: %s" % (error.lineno, error.msg))
                except (ValueError, RecursionError, MemoryError) as error:
                    self.report.skip(path, "cannot be parsed: %s" % error)
            self.trees[path] = tree
        return self.trees[path]

    def toml(self, path):
        text = self.text(path)
        if text is None:
            return None
        if tomllib is None:
            self.report.skip(path, "reading TOML needs Python 3.11 or later")
            return None
        try:
            return tomllib.loads(text)
        except Exception as error:
            self.report.skip(path, "not valid TOML: %s" % error)
            return None

    def json(self, path):
        text = self.text(path)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError as error:
            self.report.skip(path, "not valid JSON: %s" % error)
            return None

    def first_existing(self, stem):
        """`stem`.py or `stem`/__init__.py, whichever exists."""
        for path in (stem + ".py", join(stem, "__init__.py")):
            if path in self.fileset:
                return path
        return None

    def find_module(self, module, near=""):
        """The file of the dotted `module` on any sys.path root: (path, root), preferring the deepest root
        above `near`, else the shortest path."""
        stem = module.replace(".", "/")
        found = []
        for suffix in (stem + ".py", stem + "/__init__.py"):
            for path in self.py_files:
                if path == suffix or path.endswith("/" + suffix):
                    found.append((path, path[:-len(suffix)].rstrip("/")))
        if not found:
            return None
        above = [entry for entry in found if is_within(entry[1], near)]
        if above:
            return max(above, key=lambda entry: (len(entry[1]), -len(entry[0])))
        return min(found, key=lambda entry: (len(entry[0]), entry[0]))


# ---------------------------------------------------------------------------------------------------- values

class Partial(list):
    """A list of which some items could not be read."""


class PartialDict(dict):
    """A dict of which some items could not be read."""


class PathValue:
    """A path computed in a Python file: `parts` below the repository root when `known`, else below a base that
    cannot be worked out statically (an environment variable, say)."""

    def __init__(self, parts, known):
        self.parts = parts
        self.known = known

    def child(self, text):
        if text.startswith("/"):
            return text
        parts = list(self.parts)
        for piece in text.split("/"):
            if piece in ("", "."):
                continue
            if piece != "..":
                parts.append(piece)
            elif parts:
                parts.pop()
            else:
                return UNKNOWN
        return PathValue(parts, self.known)

    def parent(self):
        return PathValue(self.parts[:-1], self.known) if self.parts else UNKNOWN

    def text(self):
        return "/".join(self.parts) or "."


def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return inner + "." + node.attr if inner else None
    return None


def engine_from_url(url):
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("postgres", "postgresql", "pgsql", "psql"):
        return "django.db.backends.postgresql"
    if scheme == "postgis":
        return "django.contrib.gis.db.backends.postgis"
    if scheme in ("sqlite", "spatialite"):
        return "django.db.backends.sqlite3"
    if scheme in ("mysql", "mysql2", "mysqlgis"):
        return "django.db.backends.mysql"
    return None


class Evaluator:
    """Reads the value of an expression without running it: literals, names already assigned, list and string
    concatenation, and paths built from __file__. Everything else is UNKNOWN."""

    PATH_JOIN = {"os.path.join", "path.join", "join", "posixpath.join"}
    PATH_PARENT = {"os.path.dirname", "path.dirname", "dirname"}
    PATH_SAME = {"os.path.abspath", "os.path.realpath", "os.path.normpath", "abspath", "realpath", "normpath",
                 "str", "os.fspath", "Path", "pathlib.Path", "PurePath", "PosixPath"}

    def __init__(self, path, names):
        self.path = path
        self.names = names

    def value(self, node):
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, (str, int, float, bool, type(None))) else UNKNOWN
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return self.sequence(node.elts)
        if isinstance(node, ast.Dict):
            return self.mapping(node)
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return PathValue(self.path.split("/"), True)
            return self.names.get(node.id, UNKNOWN)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Attribute):
            base = self.value(node.value)
            return base.parent() if isinstance(base, PathValue) and node.attr == "parent" else UNKNOWN
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        return UNKNOWN

    def sequence(self, elements):
        items, partial = [], False
        for element in elements:
            if isinstance(element, ast.Starred):
                inner = self.value(element.value)
                if isinstance(inner, list):
                    items.extend(inner)
                    partial = partial or isinstance(inner, Partial)
                else:
                    partial = True
                continue
            item = self.value(element)
            if item is UNKNOWN:
                partial = True
            else:
                items.append(item)
        return Partial(items) if partial else items

    def mapping(self, node):
        items, partial = {}, False
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is None:
                inner = self.value(value_node)
                if isinstance(inner, dict):
                    items.update(inner)
                    partial = partial or isinstance(inner, PartialDict)
                else:
                    partial = True
                continue
            key, value = self.value(key_node), self.value(value_node)
            if isinstance(key, (str, int)) and value is not UNKNOWN:
                items[key] = value
            else:
                partial = True
        return PartialDict(items) if partial else items

    def binary(self, node):
        left, right = self.value(node.left), self.value(node.right)
        if isinstance(node.op, ast.Div) and isinstance(right, str):
            if left is UNKNOWN:
                return PathValue([], False).child(right)
            if isinstance(left, PathValue):
                return left.child(right)
        if isinstance(node.op, ast.Add):
            if isinstance(left, list) and isinstance(right, list):
                kind = Partial if isinstance(left, Partial) or isinstance(right, Partial) else list
                return kind(left + right)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
        return UNKNOWN

    def subscript(self, node):
        index = node.slice
        if isinstance(index, OLD_INDEX):
            index = index.value
        if isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
            base, count = self.value(node.value.value), self.value(index)
            if isinstance(base, PathValue) and isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                for _ in range(count + 1):
                    base = base.parent() if isinstance(base, PathValue) else UNKNOWN
                return base
            return UNKNOWN
        container, key = self.value(node.value), self.value(index)
        if isinstance(container, dict) and isinstance(key, (str, int)) and key in container:
            return container[key]
        return UNKNOWN

    def call(self, node):
        name = dotted(node.func)
        arguments = node.args
        if name in self.PATH_JOIN or (name in self.PATH_SAME and len(arguments) > 1 and "path" in name.lower()):
            return self.joined(arguments)
        if name in self.PATH_PARENT and len(arguments) == 1:
            inner = self.value(arguments[0])
            return inner.parent() if isinstance(inner, PathValue) else UNKNOWN
        if name in self.PATH_SAME and len(arguments) == 1:
            inner = self.value(arguments[0])
            return inner if isinstance(inner, (PathValue, str)) else UNKNOWN
        if isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in ("resolve", "absolute", "expanduser") and not arguments:
                inner = self.value(node.func.value)
                return inner if isinstance(inner, PathValue) else UNKNOWN
            if method == "joinpath":
                return self.joined([node.func.value] + arguments)
            if self.is_database_url_call(name, method):
                return self.database_from_url(node, method)
        return UNKNOWN

    def joined(self, arguments):
        if not arguments:
            return UNKNOWN
        first = self.value(arguments[0])
        rest = [self.value(argument) for argument in arguments[1:]]
        if not all(isinstance(piece, str) for piece in rest):
            return UNKNOWN
        if first is UNKNOWN:
            first = PathValue([], False)
        if isinstance(first, str):
            return posixpath.join(first, *rest)
        if not isinstance(first, PathValue):
            return UNKNOWN
        for piece in rest:
            first = first.child(piece) if isinstance(first, PathValue) else (
                posixpath.join(first, piece) if isinstance(first, str) else UNKNOWN)
        return first

    @staticmethod
    def is_database_url_call(name, method):
        # dj_database_url.config()/parse(), django-environ's env.db()/env.db_url()
        root = (name or "").split(".")[0]
        return (root == "dj_database_url" and method in ("config", "parse")) or method in ("db", "db_url")

    def database_from_url(self, node, method):
        url = None
        if method == "parse" and node.args:
            url = self.value(node.args[0])
        for keyword in node.keywords:
            if keyword.arg == "default":
                url = self.value(keyword.value)
        if method in ("db", "db_url") and len(node.args) > 1:
            url = self.value(node.args[1])
        engine = engine_from_url(url) if isinstance(url, str) else None
        return PartialDict({"ENGINE": engine}) if engine else PartialDict()


# ---------------------------------------------------------------------------------------------------- settings

class Settings:
    """The module-level settings of one settings module, with `from x import *` of other modules merged in."""

    def __init__(self, path, values, complete, extends):
        self.path = path
        self.values = values
        self.complete = complete  # False when a star import or a conditional may have set more
        self.extends = extends

    def get(self, name):
        return self.values.get(name, MISSING)

    def is_django(self):
        return any(name in self.values for name in DJANGO_SETTINGS)


def assigned_names(target):
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in assigned_names(element)]
    if isinstance(target, ast.Starred):
        return assigned_names(target.value)
    return []


def assign(values, target, value):
    if isinstance(target, ast.Name):
        values[target.id] = value
        return
    if isinstance(target, ast.Subscript):
        # DATABASES["default"]["ENGINE"] = "...": set a key inside a dict setting
        keys, node = [], target
        while isinstance(node, ast.Subscript):
            index = node.slice
            if isinstance(index, OLD_INDEX):
                index = index.value
            if not (isinstance(index, ast.Constant) and isinstance(index.value, str)):
                return
            keys.insert(0, index.value)
            node = node.value
        if not isinstance(node, ast.Name) or not isinstance(values.get(node.id), dict):
            return
        root = copy.deepcopy(values[node.id])
        container = root
        for key in keys[:-1]:
            if not isinstance(container.get(key), dict):
                return
            container = container[key]
        if value is UNKNOWN:
            container.pop(keys[-1], None)
        else:
            container[keys[-1]] = value
        values[node.id] = root
        return
    for name in assigned_names(target):
        values[name] = UNKNOWN


def resolve_star_import(repository, path, statement):
    here = dirname(path)
    module = (statement.module or "").replace(".", "/")
    if statement.level:
        base = here
        for _ in range(statement.level - 1):
            if not base:
                return None
            base = dirname(base)
        return repository.first_existing(join(base, module)) if module else repository.first_existing(base)
    if not module:
        return None
    # Python 2's implicit relative import first, then an absolute one
    found = repository.first_existing(join(here, module))
    if found:
        return found
    located = repository.find_module(statement.module, near=here)
    return located[0] if located else None


def read_settings(repository, path, seen=()):
    tree = repository.python(path)
    if tree is None:
        return None
    values, complete, extends = {}, True, []
    evaluator = Evaluator(path, values)
    try:
        for statement in tree.body:
            if isinstance(statement, ast.ImportFrom) and any(alias.name == "*" for alias in statement.names):
                target = resolve_star_import(repository, path, statement)
                inner = None
                if target and target not in seen and target != path and len(seen) < 8:
                    inner = read_settings(repository, target, seen + (path,))
                if inner is None:
                    complete = False
                    continue
                values.update(inner.values)
                complete = complete and inner.complete
                extends.append(target)
            elif isinstance(statement, ast.Assign):
                value = evaluator.value(statement.value)
                for target in statement.targets:
                    assign(values, target, value)
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                assign(values, statement.target, evaluator.value(statement.value))
            elif isinstance(statement, ast.AugAssign):
                names = assigned_names(statement.target)
                old = values.get(names[0], UNKNOWN) if names else UNKNOWN
                new = evaluator.value(statement.value)
                if isinstance(statement.op, ast.Add) and isinstance(old, list) and isinstance(new, list):
                    combined = old + new
                    values[names[0]] = Partial(combined) if isinstance(old, Partial) or isinstance(new, Partial) \
                        else combined
                else:
                    for name in names:
                        values[name] = UNKNOWN
            elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                # INSTALLED_APPS.append(...) and the like: the list is no longer fully known
                function = statement.value.func
                if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
                    old = values.get(function.value.id)
                    if isinstance(old, list):
                        values[function.value.id] = Partial(old)
                    elif isinstance(old, dict):
                        values[function.value.id] = PartialDict(old)
            elif isinstance(statement, (ast.If, ast.Try, ast.For, ast.While, ast.With)):
                complete = complete and not conditional(statement, values)
    except RecursionError:
        repository.report.skip(path, "too deeply nested to read")
        return None
    return Settings(path, values, complete, extends)


def conditional(statement, values):
    """Marks what a conditional block may assign as not fully known; True when it may assign anything."""
    changed = False
    for node in ast.walk(statement):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            changed = True
        for target in targets:
            changed = True
            names = assigned_names(target)
            if not names and isinstance(target, ast.Subscript):
                root = target
                while isinstance(root, ast.Subscript):
                    root = root.value
                names = assigned_names(root)
            for name in names:
                old = values.get(name)
                if isinstance(node, ast.AugAssign) and isinstance(old, list):
                    values[name] = Partial(old)
                elif isinstance(old, dict) and not isinstance(target, ast.Name):
                    values[name] = PartialDict(old)
                else:
                    values[name] = UNKNOWN
    return changed


def settings_default(repository, path):
    """The DJANGO_SETTINGS_MODULE that `path` (manage.py, wsgi.py) sets by default, if it is a literal."""
    tree = repository.python(path)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault" \
                and len(node.args) == 2 and all(isinstance(argument, ast.Constant) for argument in node.args) \
                and node.args[0].value == "DJANGO_SETTINGS_MODULE" and isinstance(node.args[1].value, str):
            return node.args[1].value
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Subscript):
                    index = target.slice
                    if isinstance(index, OLD_INDEX):
                        index = index.value
                    if isinstance(index, ast.Constant) and index.value == "DJANGO_SETTINGS_MODULE":
                        return node.value.value
    return None


class Location:
    """Where a settings module sits: the base package the checkout is copied into, the settings module's name,
    and the directory (if any) that must go on sys.path."""

    def __init__(self, base, module, root):
        self.base = base
        self.module = module
        self.root = root


def locate(repository, settings, manage_dirs, report):
    urlconf = settings.get("ROOT_URLCONF")
    if not is_dotted_name(urlconf):
        return None
    parts = urlconf.split(".")
    here = dirname(settings.path)
    # The urls module found on disk: its sys.path root is what the checkout needs.
    located = repository.find_module(urlconf, near=here)
    if located:
        root = located[1]
        if is_within(root, settings.path):
            return Location("", module_name(settings.path, root), root)
        return Location("", module_name(settings.path), "")
    # The checkout is itself a package (Django 1.x's layout): strip leading package parts until the rest exists.
    for divide in range(1, len(parts)):
        if repository.first_existing("/".join(parts[divide:])):
            base = ".".join(parts[:divide])
            return Location(base, module_name(settings.path, "", base), "")
    if repository.complete:
        report.warn("%s: ROOT_URLCONF %r names no module in the repository" % (settings.path, urlconf))
    root = next((directory for directory in manage_dirs if is_within(directory, settings.path)), "")
    return Location("", module_name(settings.path, root), root)


def wsgi_module(repository, settings, location):
    """gunicorn's APP_MODULE for the project: module, with :callable when that is not `application`."""
    application = settings.get("WSGI_APPLICATION")
    if is_dotted_name(application) and "." in application:
        module, callable_name = application.rsplit(".", 1)
        return (module if callable_name == "application" else module + ":" + callable_name), settings.path
    for directory in (dirname(settings.path), dirname(dirname(settings.path))):
        path = join(directory, "wsgi.py")
        if path in repository.fileset and is_within(location.root, path):
            return module_name(path, location.root, location.base), path
    return None


def database_engine(settings):
    databases = settings.get("DATABASES")
    if isinstance(databases, dict) and isinstance(databases.get("default"), dict):
        engine = databases["default"].get("ENGINE")
        if isinstance(engine, str):
            return engine
    engine = settings.get("DATABASE_ENGINE")
    return engine if isinstance(engine, str) and engine else None


def database_kind(engine):
    engine = engine.lower()
    if "postgis" in engine:
        return "postgis"
    if "postgres" in engine or "psycopg" in engine:
        return "postgresql"
    if "sqlite" in engine:
        return "sqlite"
    if "mysql" in engine:
        return "mysql"
    return None


def path_text(value):
    if isinstance(value, PathValue):
        return value.text()
    if isinstance(value, str) and value:
        return value.rstrip("/") or "/"
    return None


def media_map(settings):
    """The site media map: one "<url> <path>" line each for static files and media."""
    lines = []
    for url_name, root_name in (("STATIC_URL", "STATIC_ROOT"), ("MEDIA_URL", "MEDIA_ROOT")):
        url, root = settings.get(url_name), path_text(settings.get(root_name))
        if isinstance(url, str) and url.strip("/") and root and "://" not in url and not url.startswith("//"):
            lines.append("/%s/ %s" % (url.strip("/"), root))
    return "\n".join(lines) or None


def installed_apps(settings):
    apps = settings.get("INSTALLED_APPS")
    return apps if isinstance(apps, list) else []


def settings_hazards(settings, report):
    path = settings.path
    if settings.get("DEBUG") is True:
        report.warn("%s: DEBUG = True; a deployed site must not show debugging pages to everyone" % path)
    hosts = settings.get("ALLOWED_HOSTS")
    if (hosts is MISSING and settings.complete) or (isinstance(hosts, list) and not isinstance(hosts, Partial)
                                                     and not hosts):
        report.warn("%s: ALLOWED_HOSTS is %s; with DEBUG off Django answers 400 Bad Request to every host name"
                    % (path, "not set" if hosts is MISSING else "empty"))
    staticfiles = any(isinstance(app, str) and app.startswith("django.contrib.staticfiles")
                      for app in installed_apps(settings))
    if staticfiles and settings.get("STATIC_ROOT") is MISSING and settings.complete:
        report.warn("%s: django.contrib.staticfiles is installed but STATIC_ROOT is not set, so collectstatic "
                    "cannot run" % path)


# ---------------------------------------------------------------------------------------------------- requirements

REQUIREMENT = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(text):
    """(normalized name, version specifier) of a PEP 508 requirement, or None."""
    text = text.split(";", 1)[0].strip()
    match = REQUIREMENT.match(text)
    if not match:
        return None
    specifier = re.sub(r"\s+", "", match.group(3))
    if specifier.startswith("@") or specifier.startswith("#"):
        specifier = ""
    if specifier.startswith("(") and specifier.endswith(")"):
        specifier = specifier[1:-1]
    return normalize(match.group(1)), specifier


def pinned_version(specifier):
    """The version a specifier pins (`==4.2.7`), else the specifier itself; None when it says nothing."""
    if not isinstance(specifier, str):
        return None
    specifier = specifier.strip()
    match = re.match(r"^===?\s*([0-9][0-9A-Za-z.+!-]*)$", specifier)
    if match:
        return match.group(1)
    return None if specifier in ("", "*") else specifier


class Source:
    """A file listing dependencies: (name, specifier, basis) for each; `locked` for lock files."""

    def __init__(self, path, dependencies, locked=False):
        self.path = path
        self.dependencies = dependencies
        self.locked = locked


class PackageManager:
    """One way the project declares its dependencies, ranked: lock files first."""

    def __init__(self, rank, name, basis, declared, sources):
        self.rank = rank
        self.name = name
        self.basis = basis
        self.declared = declared
        self.sources = sources


def requirements_file_lines(repository, path, seen):
    """The requirements in a pip requirements file, following -r and -c includes."""
    text = repository.text(path)
    if text is None:
        return []
    found = []
    for line in re.sub(r"\\\r?\n", " ", text).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        include = re.match(r"^(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=[^\s-]))(\S+)$", line)
        if include:
            target = posixpath.normpath(join(dirname(path), include.group(1)))
            if target in repository.fileset and target not in seen and len(seen) < 10:
                found += requirements_file_lines(repository, target, seen | {target})
            continue
        if not line or line.startswith("-"):
            continue
        line = re.split(r"\s+--?[A-Za-z]", line)[0]
        requirement = parse_requirement(line)
        if requirement:
            found.append(requirement + (path,))
    return found


def is_requirements_name(path):
    name = basename(path)
    if not name.endswith(".txt"):
        return False
    return name.endswith("requirements.txt") or name.startswith("requirements") or \
        "requirements" in dirname(path).split("/")


def misspelling(path):
    """The name `path` was meant to have, when it looks like a misspelled requirements file."""
    name = basename(path)
    if is_requirements_name(path) or not name.lower().endswith(".txt"):
        return None
    if is_requirements_name(join(dirname(path), name.lower())):
        return name.lower()
    stem = name[:-4].lower()
    tokens = re.split(r"([-_.]+)", stem)
    for index, token in enumerate(tokens):
        if token != "requirements" and difflib.SequenceMatcher(None, token, "requirements").ratio() >= 0.9:
            tokens[index] = "requirements"
            return "".join(tokens) + ".txt"
    return None


def requirements_rank(path, roots, misspelled):
    tokens = re.split(r"[^a-z0-9]+", basename(path).lower()[:-4])
    if misspelled:
        kind = 4
    elif basename(path) == "requirements.txt":
        kind = 0
    elif any(token.startswith(("prod", "deploy", "heroku", "live")) for token in tokens):
        kind = 1
    elif any(token in ("dev", "develop", "development", "test", "tests", "testing", "local", "ci", "doc", "docs",
                       "lint") for token in tokens):
        kind = 3
    else:
        kind = 2
    return (0 if in_roots(path, roots) else 1, kind, depth(path), path)


def in_roots(path, roots):
    directory = dirname(path)
    return directory in roots or any(is_within(join(root, "requirements"), directory) for root in roots)


def table(value):
    return value if isinstance(value, dict) else {}


def lock_source(repository, path):
    """Pinned versions from poetry.lock or uv.lock ([[package]] name, version)."""
    data = repository.toml(path)
    packages = data.get("package") if isinstance(data, dict) else None
    dependencies = []
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and isinstance(package.get("name"), str) \
                and isinstance(package.get("version"), str):
            dependencies.append((normalize(package["name"]), "==" + package["version"], path))
    return Source(path, dependencies, locked=True)


def table_dependencies(entries, path, skip=()):
    """Dependencies written as a TOML table (poetry, Pipfile): name = "spec" or name = {version = "spec"}."""
    found = []
    for name, specifier in table(entries).items():
        if normalize(name) in skip:
            continue
        if isinstance(specifier, dict):
            specifier = specifier.get("version", "")
        found.append((normalize(name), specifier if isinstance(specifier, str) else "", path))
    return found


def string_dependencies(entries, path):
    found = []
    for entry in entries if isinstance(entries, list) else []:
        requirement = parse_requirement(entry) if isinstance(entry, str) else None
        if requirement:
            found.append(requirement + (path,))
    return found


def pyproject_managers(repository, root, pythons):
    path = join(root, "pyproject.toml")
    data = repository.toml(path) if path in repository.fileset else None
    if not isinstance(data, dict):
        return []
    project, tool = table(data.get("project")), table(data.get("tool"))
    poetry = table(tool.get("poetry"))
    if isinstance(project.get("requires-python"), str):
        pythons.append((4, depth(path), project["requires-python"], path))
    declared = string_dependencies(project.get("dependencies"), path)
    if poetry:
        dependencies = table(poetry.get("dependencies"))
        if isinstance(dependencies.get("python"), str):
            pythons.append((5, depth(path), dependencies["python"], path))
        sources = [Source(path, table_dependencies(dependencies, path, skip=("python",)) + declared)]
        lock = join(root, "poetry.lock")
        if lock in repository.fileset:
            sources.insert(0, lock_source(repository, lock))
        return [PackageManager(1 if lock in repository.fileset else 5, "poetry", path, [path], sources)]
    lock = join(root, "uv.lock")
    if lock in repository.fileset or "uv" in tool:
        sources = [Source(path, declared)]
        if lock in repository.fileset:
            sources.insert(0, lock_source(repository, lock))
            return [PackageManager(0, "uv", lock, [path], sources)]
        return [PackageManager(4, "uv", path, [path], sources)]
    if "dependencies" in project:
        return [PackageManager(7, "pip", path, [path], [Source(path, declared)])]
    return []


def pipenv_managers(repository, root, pythons, report):
    path = join(root, "Pipfile")
    data = repository.toml(path) if path in repository.fileset else None
    if not isinstance(data, dict):
        return []
    requires = table(data.get("requires"))
    for key in ("python_full_version", "python_version"):
        if isinstance(requires.get(key), str):
            pythons.append((3, depth(path), requires[key], path))
            break
    sources = [Source(path, table_dependencies(data.get("packages"), path))]
    lock = join(root, "Pipfile.lock")
    if lock not in repository.fileset:
        report.warn("%s has no Pipfile.lock beside it: versions are not locked; run `pipenv lock` and commit "
                    "Pipfile.lock" % path)
        return [PackageManager(6, "pipenv", path, [path], sources)]
    locked = repository.json(lock)
    if isinstance(locked, dict):
        pinned = [(normalize(name), entry.get("version", ""), lock)
                  for name, entry in table(locked.get("default")).items() if isinstance(entry, dict)]
        sources.insert(0, Source(lock, pinned, locked=True))
        meta = table(table(locked.get("_meta")).get("requires"))
        for key in ("python_full_version", "python_version"):
            if isinstance(meta.get(key), str):
                pythons.append((2, depth(lock), meta[key], lock))
                break
    return [PackageManager(2, "pipenv", path, [path], sources)]


def setuptools_managers(repository, root, pythons):
    found, declared = [], []
    path = join(root, "setup.py")
    tree = repository.python(path) if path in repository.fileset else None
    if tree is not None:
        names = {}
        evaluator = Evaluator(path, names)
        for statement in tree.body:
            if isinstance(statement, ast.Assign):
                value = evaluator.value(statement.value)
                for target in statement.targets:
                    assign(names, target, value)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (dotted(node.func) or "").split(".")[-1] == "setup":
                for keyword in node.keywords:
                    value = evaluator.value(keyword.value)
                    if keyword.arg == "install_requires":
                        found += string_dependencies(value, path)
                    elif keyword.arg == "python_requires" and isinstance(value, str):
                        pythons.append((6, depth(path), value, path))
        if found:
            declared.append(path)
    path = join(root, "setup.cfg")
    text = repository.text(path) if path in repository.fileset else None
    if text is not None:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
            requires = parser.get("options", "install_requires", fallback="")
            python = parser.get("options", "python_requires", fallback="").strip()
        except configparser.Error as error:
            repository.report.skip(path, "not a valid setup.cfg: %s" % error.message.splitlines()[0])
            requires, python = "", ""
        dependencies = string_dependencies([line.strip() for line in requires.splitlines() if line.strip()], path)
        if python:
            pythons.append((6, depth(path), python, path))
        if dependencies:
            found += dependencies
            declared.append(path)
    if not found:
        return []
    return [PackageManager(8, "setuptools", declared[0], declared, [Source(declared[0], found)])]


def python_version_files(repository, root, pythons):
    path = join(root, ".python-version")
    text = repository.text(path) if path in repository.fileset else None
    for line in (text or "").splitlines():
        if line.strip() and not line.strip().startswith("#"):
            pythons.append((0, depth(path), line.strip(), path))
            break
    path = join(root, "runtime.txt")
    text = repository.text(path) if path in repository.fileset else None
    match = re.match(r"^\s*python-(\S+)\s*$", text or "")
    if match:
        pythons.append((1, depth(path), match.group(1), path))


# ---------------------------------------------------------------------------------------------------- the rest

def title_from(url):
    """The repository's name in its source URL: https://github.com/acme/my-shop.git gives my-shop."""
    url = url.strip().split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    name = re.split(r"[/:\\]", url)[-1]
    return name or None


def gunicorn_application(command):
    """The APP_MODULE of a `gunicorn ...` command line."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if "gunicorn" not in [basename(word) for word in words]:
        return None
    flags = {"--preload", "--reload", "--daemon", "-D", "--check-config", "--print-config", "--spew",
             "--capture-output", "--enable-stdio-inheritance", "-R"}
    start = [basename(word) for word in words].index("gunicorn") + 1
    for index in range(start, len(words)):
        word, previous = words[index], words[index - 1]
        if word.startswith("-") or (previous.startswith("-") and "=" not in previous and previous not in flags):
            continue
        if re.match(r"^[A-Za-z_][\w.]*(:[\w.()]+)?$", word):
            return word[:-len(":application")] if word.endswith(":application") else word
    return None


def procfile(repository, roots, guesses, report):
    for root in sorted(roots, key=lambda directory: (depth(directory), directory)):
        path = join(root, "Procfile")
        text = repository.text(path) if path in repository.fileset else None
        if text is None:
            continue
        for line in text.splitlines():
            match = re.match(r"^([A-Za-z0-9_-]+)\s*:\s*(.+)$", line.strip())
            if not match:
                continue
            kind, command = match.group(1), match.group(2).strip()
            if kind == "web":
                guesses.add("procfile_web", command, path)
                guesses.add("wsgi_module", gunicorn_application(command), path)
            elif kind == "release":
                guesses.add("procfile_release", command, path)
            else:
                report.warn("%s: process type %r (%s) is not run by dz, which runs only web and release"
                            % (path, kind, command))
        return


def build_hooks(repository, roots, report):
    for root in sorted(roots):
        for hook in ("bin/pre_compile", "bin/post_compile"):
            path = join(root, hook)
            if path in repository.fileset:
                report.warn("%s is a Heroku-style build hook: it is not part of the guessed configuration; "
                            "check whether the build needs what it does" % path)


def missing_migrations(repository, report):
    for path in repository.files:
        if not repository.report.in_time():
            return
        if basename(path) == "models.py":
            app = dirname(path)
        elif path.endswith("/models/__init__.py"):
            app = dirname(dirname(path))
        else:
            continue
        if join(app, "migrations") in repository.dirs:
            continue
        tree = repository.python(path)
        if tree is not None and any(isinstance(node, ast.ClassDef) for node in tree.body):
            report.warn("%s defines models but %s has no migrations folder: run makemigrations and commit "
                        "the migrations" % (path, (app or "the repository root") + ("/" if app else "")))


def inspect(root, source_url):
    report = Report()
    repository = Repository(root, report)
    guesses = Guesses()

    # manage.py (maybe in a subfolder) and the DJANGO_SETTINGS_MODULE defaults of manage.py and wsgi.py
    manage_files = []
    for path in sorted((path for path in repository.files if basename(path) == "manage.py"),
                       key=lambda path: (depth(path), path)):
        text = repository.text(path)
        if text is not None and "django" in text.lower():
            manage_files.append(path)
    references = {}
    wsgi_files = [path for path in repository.py_files if basename(path) == "wsgi.py"]
    for rank, paths in ((1, manage_files), (0, wsgi_files)):
        for path in paths:
            module = settings_default(repository, path)
            if not is_dotted_name(module):
                continue
            target = repository.first_existing(join(dirname(path), module.replace(".", "/"))) if rank == 1 else None
            located = repository.find_module(module, near=dirname(path))
            target = target or (located[0] if located else None)
            if target:
                references.setdefault(target, (rank, path, module))
                references[target] = min(references[target], (rank, path, module))
            elif repository.complete:
                report.warn("%s sets DJANGO_SETTINGS_MODULE to %r, but there is no such module in the repository"
                            % (path, module))

    # settings candidates: *settings.py, settings*.py, settings/ packages, and the modules named above
    def is_candidate(path):
        name = basename(path)
        if name.endswith("settings.py") or name.startswith("settings"):
            return True
        package = dirname(path)
        return basename(package) == "settings" and join(package, "__init__.py") in repository.fileset

    candidates = sorted(set(path for path in repository.py_files if is_candidate(path)) | set(references),
                        key=lambda path: (len(path), path))
    all_settings = []
    for path in candidates:
        if not report.in_time():
            break
        settings = read_settings(repository, path)
        if settings is not None:
            all_settings.append(settings)
    extended = set(path for settings in all_settings for path in settings.extends)
    all_settings.sort(key=lambda settings: (references.get(settings.path, (2,))[0], settings.path in extended,
                                            len(settings.path), settings.path))
    django_settings = [settings for settings in all_settings if settings.is_django()]

    if not django_settings and not manage_files:
        report.warn("not a Django project: no settings module (with ROOT_URLCONF or INSTALLED_APPS) and no "
                    "manage.py were found" + ("" if repository.complete else " in the part inspected"))
        return False, guesses, report

    if source_url:
        guesses.add("title", title_from(source_url), "")

    # the settings modules: base package, settings module, python path; the first that locates is the primary
    manage_dirs = [dirname(path) for path in manage_files]
    primary, primary_location = None, None
    for settings in django_settings:
        location = locate(repository, settings, manage_dirs, report)
        if location is None:
            continue
        if primary is None:
            primary, primary_location = settings, location
        guesses.add("base_python_package", location.base, settings.path)
        guesses.add("django_settings_module", location.module, settings.path)
        if location.root:
            guesses.add("additional_python_path_dirs", location.root, settings.path, settings is primary)
        application = wsgi_module(repository, settings, location)
        if application:
            guesses.add("wsgi_module", application[0], application[1])
    if primary is None:
        named = sorted(references.items(), key=lambda item: item[1])
        if named:
            path, (_, referrer, module) = named[0]
            stem = module.replace(".", "/")
            root = path[:-len(stem + ".py")] if path.endswith(stem + ".py") else path[:-len(stem + "/__init__.py")]
            guesses.add("base_python_package", "", referrer)
            guesses.add("django_settings_module", module, referrer)
            guesses.add("additional_python_path_dirs", root.rstrip("/") or None, referrer)
        report.warn("no settings module with a literal ROOT_URLCONF was found: check the settings module guess")
    main = primary or (django_settings[0] if django_settings else None)

    home = primary_location.root if primary_location else ""
    for path in sorted(manage_files, key=lambda path: (dirname(path) != home, depth(path), path)):
        guesses.add("manage_py", path, path)

    # dependencies: requirements files and package managers, at the repository root or above a manage.py
    roots = set()
    for directory in manage_dirs + [home]:
        roots.update(ancestors(directory))
    roots.add("")
    pythons, managers = [], []
    for root in sorted(roots, key=lambda directory: (depth(directory), directory)):
        python_version_files(repository, root, pythons)
        managers += pyproject_managers(repository, root, pythons)
        managers += pipenv_managers(repository, root, pythons, report)
        managers += setuptools_managers(repository, root, pythons)
    requirement_files = []
    for path in repository.files:
        meant = misspelling(path)
        if meant:
            report.warn("%s: misspelled requirements file name (expected %s); it is offered as a requirements "
                        "file, but rename it" % (path, meant))
        if meant or is_requirements_name(path):
            requirement_files.append((requirements_rank(path, roots, meant is not None), path))
    requirement_files = [path for _, path in sorted(requirement_files)]
    pip_files = [path for path in requirement_files if in_roots(path, roots)] or requirement_files
    if pip_files:
        sources = [Source(path, requirements_file_lines(repository, path, {path})) for path in pip_files]
        managers.append(PackageManager(3, "pip", pip_files[0], pip_files, sources))
    managers.sort(key=lambda manager: (manager.rank, depth(manager.basis), manager.basis))
    for manager in managers:
        guesses.add("package_manager", manager.name, manager.basis)
        for path in manager.declared:
            guesses.add("requirements_files", path, path)
        for source in manager.sources:
            for name, specifier, basis in source.dependencies:
                if name == "django":
                    guesses.add("django_version", pinned_version(specifier), basis)
                    break
    for path in requirement_files:
        guesses.add("requirements_files", path, path)
    distinct = []
    for manager in managers:
        if all(other.name != manager.name for other in distinct):
            distinct.append(manager)
    if len(distinct) > 1:
        report.warn("several package managers: %s; the guess is %s, keep only one"
                    % (", ".join("%s (%s)" % (manager.name, manager.basis) for manager in distinct),
                       distinct[0].name))
    for _, _, value, path in sorted(pythons):
        guesses.add("python_version", value, path)

    # static files and media, the database, the Procfile
    ordered = ([main] if main else []) + [settings for settings in django_settings if settings is not main]
    for settings in ordered:
        guesses.add("site_media_map", media_map(settings), settings.path)
    evidence = []
    for index, settings in enumerate(ordered):
        if any(isinstance(app, str) and app.startswith("django.contrib.gis") for app in installed_apps(settings)):
            evidence.append((0, "postgis", settings.path, False))
        engine = database_engine(settings)
        kind = database_kind(engine) if engine else None
        if engine and not kind:
            report.warn("%s: database engine %r is not one dz provides (postgresql, postgis, mysql, sqlite)"
                        % (settings.path, engine))
        elif kind:
            # Django's default SQLite is a hint, not a demand: the hosts decide.
            evidence.append(({"postgis": 0, "sqlite": 5}.get(kind, 1 if index == 0 else 3), kind, settings.path,
                             kind == "sqlite"))
    for manager in managers:
        for source in manager.sources:
            if source.locked:
                continue
            for name, _, basis in source.dependencies:
                # A driver in a requirements file is a hint, not a demand: the hosts' database decides.
                if name in POSTGRESQL_DRIVERS:
                    evidence.append((2, "postgresql", basis, True))
                elif name in MYSQL_DRIVERS:
                    evidence.append((2, "mysql", basis, True))
    for _, kind, basis, hint in sorted(evidence, key=lambda entry: (entry[3], entry[0])):
        guesses.add("database_type", kind, basis, not hint)
    procfile(repository, roots, guesses, report)

    # hazards
    if main is not None:
        settings_hazards(main, report)
    build_hooks(repository, roots, report)
    missing_migrations(repository, report)
    return True, guesses, report


def listed(entries):
    if len(entries) <= MAX_LISTED:
        return entries
    return entries[:MAX_LISTED] + ["... and %d more" % (len(entries) - MAX_LISTED)]


def main(arguments):
    if sys.version_info < (3, 8):
        sys.stderr.write("the dz inspector needs Python 3.8 or later, not %s\n" % sys.version.split()[0])
        return 3
    if len(arguments) < 2:
        sys.stderr.write("usage: python3 - REPOSITORY [SOURCE_URL]\n")
        return 64
    root = os.path.abspath(arguments[1])
    if not os.path.isdir(root):
        sys.stderr.write("%s: not a directory\n" % arguments[1])
        return 66
    is_django, guesses, report = inspect(root, arguments[2] if len(arguments) > 2 and arguments[2] else None)
    json.dump({"is_django": is_django, "guesses": guesses.json() if is_django else [],
               "warnings": listed(report.warnings), "skipped": listed(report.skipped)}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
