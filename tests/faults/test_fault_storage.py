"""Disk full, then a read-only data folder, while the service runs a simulated morning.

Root ignores file modes, so the faults are made with real file systems (``mount``, root
and CAP_SYS_ADMIN needed; the test is skipped without them):

* the **disk** is a 64 MB tmpfs, and the data folder a bind mount of it; **disk full** is
  a filler file taking every free block (ENOSPC on every write, SQLite's included), freed
  later;
* the **read-only folder** is the same disk bound read-only at the data folder's path
  (``mount -o remount,bind,ro``), as when a folder's permissions or its mount change
  under a running service: files cannot be created or replaced there (EROFS), while the
  handles the service already holds (the learning store's) keep working, as they would.
  A whole file system remounted read-only cannot be made here: the kernel refuses it
  while files are open for writing. SQLite refusing writes is shown by the disk-full half.

Expected each time: ``/health`` and ``/status`` say ``storage: <file>: <reason>`` in words
while it lasts; no corrupt file (``schedule.json`` keeps the last plan written and parses,
the store passes its integrity check); the agent keeps planning and acting from memory
(the new plan is served by ``GET /schedule`` and executed); a user change that cannot be
saved is refused (503) and not applied; the slot rows the store refused are kept in
memory and written when space returns, so every slot has its one observation, equal to
the home's meters; the fault clears by itself.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from fault_files import check_schedule_file, check_store, stray_temp_files
from fault_harness import FaultRig, fault_rig

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = [pytest.mark.ha, pytest.mark.slow]

TZ = ZoneInfo("Europe/Stockholm")
SIX = datetime(2018, 5, 15, 6, tzinfo=TZ).astimezone(UTC)
SLOT = timedelta(minutes=15)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)  # noqa: S607


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True, timeout=30)  # noqa: S607


@dataclass(frozen=True)
class Volume:
    """A small tmpfs (``disk``) bound at the data folder (``folder``)."""

    disk: Path
    folder: Path

    def fill(self) -> None:
        """Take every free block (the next write of anything fails with ENOSPC)."""
        block = b"\0" * (1 << 16)
        with (self.disk / "filler.bin").open("wb", buffering=0) as handle:
            for size in (len(block), 1):  # big blocks, then to the last byte
                with contextlib.suppress(OSError):
                    while handle.write(block[:size]):
                        pass

    def free(self) -> None:
        (self.disk / "filler.bin").unlink()

    def read_only(self) -> None:
        """Bind the disk read-only at the folder's path (open handles keep theirs)."""
        _umount(self.folder)
        _mount("--bind", str(self.disk), str(self.folder))
        _mount("-o", "remount,bind,ro", str(self.folder))

    def writable(self) -> None:
        _umount(self.folder)
        _mount("--bind", str(self.disk), str(self.folder))


@contextlib.contextmanager
def data_volume(folder: Path, *, size_mb: int) -> Iterator[Volume]:
    disk = folder.with_name("disk")
    for path in (disk, folder):
        path.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(disk))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}): needs root and CAP_SYS_ADMIN")
    try:
        _mount("--bind", str(disk), str(folder))
        yield Volume(disk=disk, folder=folder)
    finally:
        _umount(folder)
        _umount(folder)  # a read-only bind may sit on the first one
        _umount(disk)


def _storage(rig: FaultRig) -> list[str]:
    return [p for p in rig.problems() if p.startswith("storage: ")]


def _local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%H:%M")


def _planned_at(document: dict[str, object]) -> str:
    meta = document["meta"]
    assert isinstance(meta, dict)
    return _local(datetime.fromisoformat(str(meta["planned_at"])))


def test_fault_storage_disk_full_then_read_only_keeps_controlling_and_recovers(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    with (
        data_volume(tmp_path / "data", size_mb=64) as volume,
        fault_rig(ha, tmp_path, start=SIX) as rig,
    ):
        agent = rig.runtime.agent
        rig.step(2)
        assert rig.problems() == []
        # --- disk full at 06:30 ----------------------------------------------------------
        volume.fill()
        on_disk = (rig.data_dir / "schedule.json").read_bytes()
        writes = agent.writes
        rig.step(4)  # 06:30 - 07:30, the 07:00 plan made but not written
        problems = _storage(rig)
        schedule = str(rig.data_dir / "schedule.json")
        assert f"storage: {schedule}: cannot write (No space left on device)" in problems
        store_problem = next(p for p in problems if "planner_learning.db" in p)
        assert "database or disk is full" in store_problem
        assert "slot row(s) kept in memory until the store takes them" in store_problem
        assert rig.health()["status"] == "degraded"
        # nothing corrupt: the file on disk is the last one written, whole
        assert (rig.data_dir / "schedule.json").read_bytes() == on_disk
        assert _planned_at(check_schedule_file(rig.data_dir)) == "06:00"
        # controlling from memory: the 07:00 plan is served and executed
        served = rig.api.client.get("/schedule").json()
        assert _planned_at(served) == "07:00"
        assert agent.plan is not None
        assert _local(agent.plan.start) == "07:00"
        assert agent.safe_state is None
        assert agent.writes > writes or agent.last_command is not None
        assert len(agent.unsaved) >= 8  # four slots: observation and tick each
        # a user change that cannot be saved is refused and not applied
        reply = rig.api.client.post("/actions", json={"action": "charge", "minutes": 60})
        assert reply.status_code == 503, reply.text
        assert "No space left on device" in reply.text
        assert rig.runtime.override is None
        # --- space back at 07:30 ---------------------------------------------------------
        volume.free()
        rig.step(3)  # 07:30 - 08:15: rows written, the 08:00 plan written, state retried
        assert rig.problems() == []
        assert len(agent.unsaved) == 0
        assert _planned_at(check_schedule_file(rig.data_dir)) == "08:00"
        # --- read-only folder at 08:15 ---------------------------------------------------
        volume.read_only()
        rig.step(4)  # 08:15 - 09:15, the 09:00 plan made but not written
        problems = _storage(rig)
        assert any(
            p.startswith(f"storage: {schedule}: cannot create a file in ")
            and p.endswith("(Read-only file system)")
            for p in problems
        ), problems
        reply = rig.api.client.post("/executor/shadow", json={"enabled": True})
        assert reply.status_code == 503, reply.text
        assert "Read-only file system" in reply.text
        assert agent.shadow is False
        assert any("state.json" in p for p in _storage(rig))
        assert _planned_at(check_schedule_file(rig.data_dir)) == "08:00"
        assert _planned_at(rig.api.client.get("/schedule").json()) == "09:00"
        # --- writable again at 09:15 -----------------------------------------------------
        volume.writable()
        rig.step(4)  # to 10:15: the 10:00 plan written
        assert rig.problems() == []
        assert rig.health()["status"] == "ok"
        assert _planned_at(check_schedule_file(rig.data_dir)) == "10:00"
        counts = check_store(rig.data_dir, start=SIX)
        assert counts["flagged"] == 0
        assert counts["observed"] == (rig.now - SIX) // SLOT  # every slot, once
        assert rig.misrecorded(SIX, rig.now) == []  # equal to the home's meters
        assert stray_temp_files(rig.data_dir) == []
