"""The main window's menu bar (File and Run) and what File > Export plots / table export: the
figure or table of the tab on screen.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from snnstudio.core import config as config_io
from snnstudio.core.errors import SnnStudioError
from snnstudio.gui.exporting import PLOT_FILTER, TABLE_FILTER, export_graphics, export_table_csv


class WindowMenus:
    """A part of MainWindow (mixed into it): its menus, their actions, and the export dialogs.
    The window has the slots the menus call, `tabs`, `defense`, `run_panel`, `results` and
    `run_caption`."""

    def build_menus(self) -> None:
        files = self.menuBar().addMenu("&File")
        self.add_action(files, "&New experiment", self.new_config, QKeySequence.StandardKey.New)
        presets = files.addMenu("Open &preset")
        for name in config_io.preset_names():
            self.add_action(presets, name, lambda n=name: self.open_preset(n))
        self.add_action(files, "&Open…", self.open_config_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = files.addMenu("Open &recent")
        self.add_action(files, "&Save", self.save_config, QKeySequence.StandardKey.Save)
        self.add_action(files, "Save &as…", self.save_config_as, QKeySequence.StandardKey.SaveAs)
        files.addSeparator()
        self.add_action(files, "Export &plots…", self.export_plots_dialog)
        self.add_action(files, "Export &table as CSV…", self.export_table_dialog)
        files.addSeparator()
        self.add_action(files, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        runs = self.menuBar().addMenu("&Run")
        self.start_action = self.add_action(runs, "&Start", self.start_run, QKeySequence("F5"))
        self.stop_action = self.add_action(runs, "S&top", self.stop_run, QKeySequence("Shift+F5"))
        self.stop_action.setEnabled(False)
        self.refresh_recent_menu()

    def add_action(self, menu, text: str, slot, shortcut=None) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    # ------------------------------------------------------------------ export

    def current_figure(self) -> tuple[str, object, str]:
        """(file stem, plot layout, caption naming the run) of the tab on screen; the run
        curves elsewhere."""
        page = self.tabs.currentWidget()
        defense = self.defense
        if page is defense.detection:  # the recordings or the scores, as on screen
            shown = defense.detection.views.currentWidget()
            return "detection", shown.graphics.ci, defense.detection_caption
        if page is defense.elimination:
            return "elimination", defense.elimination.graphics.ci, defense.elimination_caption
        return "curves", self.run_panel.curves.graphics.ci, self.run_caption

    def current_table(self) -> tuple[str, object]:
        """(file stem, table) of the tab on screen: detection scores, else the past runs."""
        if self.tabs.currentWidget() is self.defense.detection:
            return "detection-scores", self.defense.detection.scores
        return "runs", self.results.table

    def export_plots_dialog(self) -> None:
        stem, figure, caption = self.current_figure()
        path, _ = QFileDialog.getSaveFileName(self, "Export plots", f"{stem}.svg", PLOT_FILTER)
        if path:
            self._report(lambda: export_graphics(figure, path, caption))

    def export_table_dialog(self) -> None:
        stem, table = self.current_table()
        path, _ = QFileDialog.getSaveFileName(self, "Export table", f"{stem}.csv", TABLE_FILTER)
        if path:
            self._report(lambda: export_table_csv(table, path))

    def _report(self, write) -> None:  # type: ignore[no-untyped-def]
        try:
            written = write()
        except SnnStudioError as exc:
            QMessageBox.warning(self, "Export failed", str(exc))
            return
        self.statusBar().showMessage(f"wrote {written}", 5000)
