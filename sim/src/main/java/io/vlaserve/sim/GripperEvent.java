package io.vlaserve.sim;

/** What the gripper did during one step or pose command. Immutable and thread-safe. */
public enum GripperEvent {
  /** The gripper did not cross the open/closed threshold. */
  NONE,
  /** The gripper closed around a block, which is now carried. */
  GRASPED,
  /** The gripper closed with no graspable block between its fingers. */
  GRASP_MISSED,
  /** The gripper opened and dropped the carried block onto the support below it. */
  RELEASED,
  /** The gripper opened while carrying nothing. */
  OPENED
}
