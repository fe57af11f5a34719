"""The experiment's files for the main window: new, preset, open, recent, save, save as, the
title that names the file and says when the form has unsaved edits, and asking before the
form is replaced.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.rundir import load_config_file

TOML_FILTER = "Experiment (*.toml)"
RECENT_KEY = "recent_files"
MAX_RECENT = 8


def same_config(a: config_io.ExperimentConfig, b: config_io.ExperimentConfig) -> bool:
    """Equal as saved: a drawn trigger's transparent pixels (nan) compare equal."""
    return json.dumps(config_io.to_dict(a), sort_keys=True, default=str) == json.dumps(
        config_io.to_dict(b), sort_keys=True, default=str
    )


class ExperimentFiles:
    """A part of MainWindow (mixed into it): the File menu's experiment actions. The window
    has `settings`, `config_path`, `saved_config`, `setup`, `recent_menu`, `config()`,
    `set_config()` and `add_action()`."""

    def form_modified(self) -> bool:
        """Whether the form holds edits not saved since it was last opened or saved."""
        return not same_config(self.config(), self.saved_config)

    def may_replace_form(self, cfg: config_io.ExperimentConfig, what: str, ask: bool) -> bool:
        """Whether the form may become `cfg` (`what` names it): yes when nothing would be
        lost, else the user is asked. With `ask` False only unsaved edits are asked about
        (the user chose a file or preset); True asks whenever the form differs (reopening a
        run or a sweep point, where loading the config is not the point of the action)."""
        if same_config(self.config(), cfg) or not (ask or self.form_modified()):
            return True
        unsaved = " It has unsaved edits." if self.form_modified() else ""
        answer = QMessageBox.question(
            self, "Replace the experiment?",
            f"Replace the experiment in the form ('{self.setup.name.text()}') with {what}?"
            f"{unsaved}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )  # fmt: skip
        return answer == QMessageBox.StandardButton.Yes

    def new_config(self) -> None:
        cfg = config_io.ExperimentConfig()
        if self.may_replace_form(cfg, "a new experiment", ask=False):
            self.config_path = None
            self.set_config(cfg)

    def open_preset(self, name: str) -> None:
        """The preset in the form, tied to no file (Save asks where to write it)."""
        cfg = config_io.load_preset(name)
        if self.may_replace_form(cfg, f"the preset '{name}'", ask=False):
            self.config_path = None
            self.set_config(cfg)

    def open_config(self, path: Path) -> bool:
        try:
            cfg = validation.validate(load_config_file(path))
        except SnnStudioError as exc:
            QMessageBox.warning(self, "Cannot open experiment", str(exc))
            return False
        if not self.may_replace_form(cfg, str(path), ask=False):
            return False
        self.config_path = Path(path)
        self.set_config(cfg)
        self._remember(self.config_path)
        return True

    def open_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", "", TOML_FILTER)
        if path:
            self.open_config(Path(path))

    def save_config(self) -> None:
        if self.config_path is None:
            self.save_config_as()
        else:
            self.write_config(self.config_path)

    def save_config_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save experiment", f"{self.config().name}.toml", TOML_FILTER
        )
        if path:
            self.write_config(Path(path))

    def write_config(self, path: Path) -> None:
        try:
            config_io.save(self.config(), path)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save experiment", f"cannot write {path}: {exc}")
            return
        self.config_path = path
        self.saved_config = self.config()
        self._remember(path)
        self.update_title()
        self.statusBar().showMessage(f"saved {path}", 5000)

    def _remember(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue(RECENT_KEY, recent[:MAX_RECENT])
        self.refresh_recent_menu()

    def recent_files(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        return [value] if isinstance(value, str) else list(value or [])

    def refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            self.add_action(self.recent_menu, path, lambda p=path: self.open_config(Path(p)))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def update_title(self) -> None:
        where = f" — {self.config_path}" if self.config_path else ""
        edited = " *" if self.saved_config is not None and self.form_modified() else ""
        self.setWindowTitle(f"snnstudio — {self.setup.name.text()}{edited}{where}")
