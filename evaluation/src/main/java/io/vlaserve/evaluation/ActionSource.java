package io.vlaserve.evaluation;

import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.Subgoal;

/** Whatever drives the simulated robot during evaluation: the policy under test, or the expert. */
@FunctionalInterface
public interface ActionSource {
  /**
   * The next actions for {@code subgoal}, at least one, each {@code [dx, dy, dz, droll, dpitch, dyaw, gripper]}.
   *
   * @param image the camera frame the robot sees now
   */
  double[][] act(WorldState state, byte[] image, Subgoal subgoal);
}
