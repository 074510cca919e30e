"""Launch files (for a full ROS 2 install; `launch` is not on PyPI): each parses, defines
generate_launch_description, and only starts executables this package installs."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def console_scripts() -> set[str]:
    setup = (ROOT / "setup.py").read_text()
    return set(re.findall(r'"(\w+) = [\w.]+:\w+"', setup))


def test_launch_files_parse_and_use_installed_executables():
    scripts = console_scripts()
    files = sorted((ROOT / "launch").glob("*.launch.py"))
    assert {f.name for f in files} >= {"trail.launch.py", "demonstrate.launch.py", "sim.launch.py"}
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert "generate_launch_description" in names, path.name
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "executable" and isinstance(node.value, ast.Constant):
                assert node.value.value in scripts, f"{path.name}: {node.value.value} is not a console script"


def test_trail_graph_executables_are_installed():
    from semantic_locomotion.graph import trail_graph

    scripts = console_scripts()
    for spec in trail_graph():
        assert spec.executable in scripts
        assert (ROOT / (spec.module.replace(".", "/") + ".py")).is_file()
