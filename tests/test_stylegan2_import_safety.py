"""The importer never runs code from the file: a pickle that calls os.system through __reduce__ is
refused before anything runs, and a snapshot whose embedded module source runs a command (through the
legitimate persistence function) imports or fails without that source ever running. Damaged or
foreign files get a one-line error and a non-zero exit, never a traceback."""
from __future__ import annotations

import io
import os
import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import get_settings
from generator.stylegan2.pickle_import import RefusedGlobal, SnapshotError, read_snapshot

DATA = Path(__file__).resolve().parent / "data" / "stylegan2"
SNAPSHOT = DATA / "sg2_64-snapshot.pkl"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def import_cli(path: Path, out: Path):
    return CliRunner().invoke(app, ["weights", "import", str(path), "--name", "t", "--licence", "test",
                                    "--out", str(out)])


def assert_clear_failure(result, *phrases: str) -> None:
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    text = " ".join(result.output.split())
    assert "Traceback" not in result.output and text.startswith("error:"), result.output
    for phrase in phrases:
        assert phrase in text, text


class RunsCommand:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_reduce_calling_os_system_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": RunsCommand(f"touch {marker}")}))
    assert b"system" in path.read_bytes()
    result = import_cli(path, tmp_path / "out")
    assert_clear_failure(result, "refused", f"{os.system.__module__}.system")
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_builtins_exec_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Exec:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').close()",))

    with pytest.raises(RefusedGlobal, match="builtins.exec"):
        read_snapshot(io.BytesIO(pickle.dumps({"G_ema": Exec()})))
    assert not marker.exists()


@pytest.fixture
def fake_persistence(monkeypatch):
    """A stand-in for the official torch_utils.persistence module, only so the test can write a
    pickle that names `torch_utils.persistence._reconstruct_persistent_obj`; like the official one,
    it runs the embedded source when a pickle is loaded the careless way."""
    package = types.ModuleType("torch_utils")
    module = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):
        namespace: dict = {}
        exec(meta["module_src"], namespace)  # what the official loader does
        return namespace[meta["class_name"]]()

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    package.persistence = module
    monkeypatch.setitem(sys.modules, "torch_utils", package)
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", module)
    return _reconstruct_persistent_obj


def evil_snapshot(reconstruct, marker: Path, class_name: str = "Generator") -> bytes:
    source = f"import pathlib\npathlib.Path({str(marker)!r}).touch()\nclass {class_name}:\n    pass\n"

    class Persistent:
        def __reduce__(self):
            meta = dict(type="class", version=6, module_src=source, class_name=class_name,
                        state={"_parameters": OrderedDict(weight=torch.zeros(2)), "_buffers": OrderedDict(),
                               "_modules": OrderedDict(), "_init_kwargs": {"z_dim": 8}})
            return (reconstruct, (meta,))

    return pickle.dumps({"G_ema": Persistent()})


def test_embedded_module_source_never_runs(tmp_path, fake_persistence):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil-src.pkl"
    path.write_bytes(evil_snapshot(fake_persistence, marker))
    result = import_cli(path, tmp_path / "out")
    assert not marker.exists()
    assert_clear_failure(result, "init_kwargs")  # it reads as data; then its config is found wanting
    # the check can fail: the careless way (plain pickle.load) does run the embedded source
    pickle.loads(path.read_bytes())
    assert marker.exists()


def test_unknown_class_is_a_clear_error(tmp_path, fake_persistence):
    path = tmp_path / "other.pkl"
    path.write_bytes(evil_snapshot(fake_persistence, tmp_path / "pwned", class_name="Transformer"))
    assert_clear_failure(import_cli(path, tmp_path / "out"), "G_ema is a Transformer")
    assert not (tmp_path / "pwned").exists()


def test_unknown_global_is_named(tmp_path):
    path = tmp_path / "foreign.pkl"
    path.write_bytes(pickle.dumps({"G_ema": OrderedDict, "x": io.BytesIO}))
    assert_clear_failure(import_cli(path, tmp_path / "out"), "refused", "_io.BytesIO")


def test_truncated_snapshot_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(SNAPSHOT.read_bytes()[: SNAPSHOT.stat().st_size // 2])
    assert_clear_failure(import_cli(path, tmp_path / "out"), "truncated")
    assert not (tmp_path / "out" / "generator.safetensors").exists()


def test_snapshot_without_g_ema_is_a_clear_error(tmp_path):
    path = tmp_path / "no-gema.pkl"
    path.write_bytes(pickle.dumps({"G": 1, "D": 2, "training_set_kwargs": {}}))
    assert_clear_failure(import_cli(path, tmp_path / "out"), "no G_ema")


def test_missing_file_and_bad_name(tmp_path):
    assert_clear_failure(import_cli(tmp_path / "nothing.pkl", tmp_path / "out"), "file not found")
    result = CliRunner().invoke(app, ["weights", "import", str(SNAPSHOT), "--name", "../x", "--licence", "t"])
    assert_clear_failure(result, "--name")


def test_real_snapshot_reads_as_data_only():
    with open(SNAPSHOT, "rb") as handle:
        data = read_snapshot(handle)
    assert set(data) == {"G", "D", "G_ema", "augment_pipe", "training_set_kwargs"}
    assert data["G_ema"].class_name == "Generator" and data["D"].class_name == "Discriminator"
    assert not any(name.startswith("_imported_module_") for name in sys.modules)  # no module was made


def test_default_output_is_under_the_data_folder(tmp_path):
    result = CliRunner().invoke(app, ["weights", "import", str(SNAPSHOT), "--name", "ffhq-test", "--licence", "t"])
    assert result.exit_code == 0, result.output
    target = tmp_path / "data" / "models" / "ffhq-test"
    assert (target / "generator.safetensors").is_file() and (target / "MODEL_CARD.md").is_file()
    assert str(target / "generator.safetensors") in "".join(result.output.split())
    again = CliRunner().invoke(app, ["weights", "import", str(SNAPSHOT), "--name", "ffhq-test", "--licence", "t"])
    assert_clear_failure(again, "exists already")


def test_damaged_torch_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.pt"
    torch.save({"g_ema": {"style.1.weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(SnapshotError):
        from generator.stylegan2.importer import import_weights

        import_weights(path, "t", "t", tmp_path / "out")
    assert_clear_failure(import_cli(path, tmp_path / "out2"), "rosinality")
