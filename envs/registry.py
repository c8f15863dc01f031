"""The task table: task name -> `partial(TaskClass, config)`. Adding a task is one appended line (see FRAMEWORK.md)."""

from __future__ import annotations

from functools import partial

from envs.tasks.drawer import DRAWER_CONFIG, DrawerTask
from envs.tasks.lift import LiftConfig, LiftTask
from envs.tasks.long_horizon import DRAWER_CUBE_CONFIG, DrawerCubeTask
from envs.tasks.pick_place import PICK_PLACE_CONFIGS, PickPlaceTask
from envs.tasks.push import PUSH_CONFIG, PushTask
from envs.tasks.stack import STACK_CONFIG, StackTask

TASKS: dict[str, partial] = {
    "CubeInBowl": partial(PickPlaceTask, PICK_PLACE_CONFIGS["CubeInBowl"]),
    "CanInMug": partial(PickPlaceTask, PICK_PLACE_CONFIGS["CanInMug"]),
    "FruitInBin": partial(PickPlaceTask, PICK_PLACE_CONFIGS["FruitInBin"]),
    "Lift": partial(
        LiftTask,
        LiftConfig(
            name="Lift",
            family="lift",
            instruction="pick up the red cube",
            paraphrases=(
                "lift the red cube",
                "grab the red block and raise it",
                "pick the cube up off the table",
            ),
            description="Lift a 4 cm cube at least 5 cm off the table.",
            horizon=150,
        ),
    ),
}
# ----- engineer B: append further tasks below (one `TASKS["Name"] = partial(TaskClass, Config(...))` each) -----
TASKS["StackCubes"] = partial(StackTask, STACK_CONFIG)
TASKS["PushToTarget"] = partial(PushTask, PUSH_CONFIG)
TASKS["OpenDrawer"] = partial(DrawerTask, DRAWER_CONFIG)
TASKS["OpenDrawerPlaceCube"] = partial(DrawerCubeTask, DRAWER_CUBE_CONFIG)
