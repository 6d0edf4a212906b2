"""The face side of the data flow: tracking, head pose, retargeting onto the portrait, crops and motion maps."""
