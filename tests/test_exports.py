"""hpo._exports: a package's names, imported from their modules on first use."""

import sys
import types

import pytest

from hpo._exports import lazy_exports


def test_a_name_is_read_from_its_module_at_each_access(monkeypatch):
    module = types.ModuleType("hpo_test_lazy_target")
    module.answer = 42
    monkeypatch.setitem(sys.modules, module.__name__, module)
    getattr_ = lazy_exports("hpo_test_pkg", {module.__name__: ("answer",)})
    assert getattr_("answer") == 42
    monkeypatch.setattr(module, "answer", 43)  # nothing cached: a patched module is what the package gives
    assert getattr_("answer") == 43


def test_an_unknown_name_is_an_attribute_error_naming_the_package():
    getattr_ = lazy_exports("hpo_test_pkg", {})
    with pytest.raises(AttributeError, match="module 'hpo_test_pkg' has no attribute 'missing'"):
        getattr_("missing")


@pytest.mark.slow
def test_importing_hpo_and_its_packages_loads_no_heavy_package():
    import subprocess

    code = ("import sys, hpo, hpo.storage, hpo.trial, hpo.driver, hpo.report; "
            "print(','.join(m for m in ('optuna', 'keras', 'tensorflow', 'plotly', 'numpy') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
