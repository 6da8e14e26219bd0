"""A stand-in for the `blender` executable in farm tests, running on the bpy module.

    farm_blender.py -b SCENE --command portrait_animator COMMAND ARGS...
runs `python -m blender_addon COMMAND --blend SCENE ARGS...` in this process (the extension is
loaded from the repository, as Blender loads the installed extension). Test hook:
FARM_DIE_AFTER_FRAMES=N makes the process die (os._exit, like SIGKILL: no clean-up) halfway
through writing its (N+1)th exported frame, leaving a partial temporary file.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _die_after(count: int) -> None:
    copy = shutil.copyfile
    done = [0]

    def copyfile(source, target, *args, **kwargs):
        if done[0] == count:
            data = Path(source).read_bytes()
            Path(target).write_bytes(data[: len(data) // 2])
            os._exit(137)
        done[0] += 1
        return copy(source, target, *args, **kwargs)

    shutil.copyfile = copyfile


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[0] != "-b" or argv[2] != "--command" or argv[3] != "portrait_animator":
        print(f"farm_blender: expected -b SCENE --command portrait_animator ..., got {argv}",
              file=sys.stderr)
        return 1
    scene, command, rest = argv[1], argv[4], argv[5:]
    if "FARM_DIE_AFTER_FRAMES" in os.environ:
        _die_after(int(os.environ["FARM_DIE_AFTER_FRAMES"]))
    from blender_addon.__main__ import run

    return run([command, "--blend", scene, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
