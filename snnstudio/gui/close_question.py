"""The question "Stop it and close?" while a job runs, which follows the job: when the job ends
while the question is open, the question says so instead of claiming it still runs."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from snnstudio.gui.tasks import TaskSlot

Button = QMessageBox.StandardButton


class CloseQuestion(QMessageBox):
    """Asks whether to stop the slot's running job and close `parent`."""

    def __init__(self, parent: QWidget, jobs: TaskSlot) -> None:
        assert jobs.task is not None, "ask only while a job runs"
        self.job = jobs.task.name
        super().__init__(
            QMessageBox.Icon.Question, "Stop and close?",
            f"The {self.job} is still running. Stop it and close the window? What it has "
            "saved so far stays in its run directory.",
            Button.Yes | Button.No, parent,
        )  # fmt: skip
        self.setDefaultButton(Button.No)
        self.job_ended = False
        self._jobs = jobs
        jobs.busy_changed.connect(self._on_busy_changed)

    def _on_busy_changed(self, running: bool) -> None:
        if running or self.job_ended:
            return
        self.job_ended = True
        self.setWindowTitle("Close?")
        self.setText(f"The {self.job} has ended; its results are in its run directory. "
                     "Close the window?")  # fmt: skip

    def ask(self) -> bool:
        """Show the question (modal); True when the user agrees to close."""
        try:
            return Button(self.exec()) == Button.Yes
        finally:
            self._jobs.busy_changed.disconnect(self._on_busy_changed)
