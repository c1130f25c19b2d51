import numpy as np
import pytest

from wm_video.actions import ACTION_DIM, ACTION_NAMES, ACTION_SPECS, action_from_dict, action_to_dict, empty_action

OASIS_ORDER = ["inventory", "ESC"] + [f"hotbar.{i}" for i in range(1, 10)] + [
    "forward", "back", "left", "right", "camera.pitch", "camera.yaw", "jump", "sneak", "sprint",
    "swapHands", "attack", "use", "pickItem", "drop"]


def test_layout_is_the_oasis_vpt_order_with_camera_axes_named():
    assert ACTION_DIM == 25
    assert list(ACTION_NAMES) == OASIS_ORDER
    units = {s.name: s.unit for s in ACTION_SPECS}
    assert units["camera.pitch"] == units["camera.yaw"] == "degrees/frame"
    assert all(units[n] == "button" for n in ACTION_NAMES if not n.startswith("camera"))


def test_dict_round_trip_and_unknown_names():
    a = action_from_dict({"forward": 1, "camera.yaw": -2.5})
    assert a.dtype == np.float32 and a.shape == (25,)
    assert action_to_dict(a) == {"forward": 1.0, "camera.yaw": -2.5}
    assert not empty_action().any()
    with pytest.raises(KeyError, match="cameraX"):
        action_from_dict({"cameraX": 1})
    with pytest.raises(ValueError):
        action_to_dict(np.zeros(24))
