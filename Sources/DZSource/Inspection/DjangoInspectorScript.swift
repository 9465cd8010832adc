/// The inspector that `DjangoInspector` runs: a Python 3 program fed to `python3 -I -` on standard input, with the
/// repository path as its first argument and the source URL as an optional second. Its docstring states what it
/// reads and the JSON object it prints; it never imports or runs the project's code.
///
/// The program is `django_inspector.py` beside this file, a real Python file (checked by pyflakes, unit-tested by
/// `test_django_inspector.py` with Python's unittest), embedded in the binary at build time: no resource bundle.
enum DjangoInspectorScript {
    static let source = String(decoding: PackageResources.django_inspector_py, as: UTF8.self)
}
