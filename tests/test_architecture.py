"""House rules that a linter does not check: imports point one way, SQL only in store/rollup modules."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQL_MODULES = {"store.py", "rollup.py", "preaggregate.py", "locks.py", "load.py", "migrations.py", "db.py"}


def _python_files(*folders: str) -> list[Path]:
    return [p for f in folders for p in (ROOT / f).rglob("*.py")]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


class TestImports:
    def test_shared_never_imports_services(self) -> None:
        offenders = [p for p in _python_files("shared") if any(m.startswith("services") for m in _imports(p))]
        assert offenders == []

    def test_services_do_not_import_each_other(self) -> None:
        for name in ("api", "collector", "simulator"):
            others = {"api", "collector", "simulator"} - {name}
            for p in _python_files(f"services/{name}"):
                bad = [m for m in _imports(p) if any(m.startswith(f"services.{o}") for o in others)]
                assert bad == [], f"{p} imports {bad}"


class TestSqlStaysInStores:
    def test_no_select_or_insert_outside_store_modules(self) -> None:
        offenders = []
        for p in _python_files("shared", "services"):
            if p.name in SQL_MODULES:
                continue
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"select", "insert", "text"}:
                    offenders.append(f"{p.relative_to(ROOT)}:{node.lineno}")
        assert offenders == []
